using System.Globalization;

namespace GenerationWorker.Silo.Cli;

/// <summary>A command line the operator got wrong; the message says what to fix (exit code 2).</summary>
public sealed class CliUsageException(string message) : Exception(message);

/// <summary>
/// The options and positional arguments after a command: <c>--name value</c> or <c>--name=value</c> for the options
/// the command declares, bare <c>--flag</c> for its flags, anything else positional.
/// </summary>
internal sealed class CliArguments
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);
    private readonly List<string> _positionals = [];

    private CliArguments()
    {
    }

    /// <summary>Positional arguments, in order.</summary>
    public IReadOnlyList<string> Positionals => _positionals;

    /// <summary>Reads <paramref name="args"/>; unknown options and options without a value are usage errors.</summary>
    public static CliArguments Parse(IEnumerable<string> args, IReadOnlyCollection<string> options, IReadOnlyCollection<string>? flags = null)
    {
        var parsed = new CliArguments();
        using var items = args.GetEnumerator();
        while (items.MoveNext())
        {
            var arg = items.Current;
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg == "--")
            {
                parsed._positionals.Add(arg);
                continue;
            }

            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? arg[2..] : arg[2..equals];
            if (flags?.Contains(name) == true && equals < 0)
            {
                parsed._flags.Add(name);
                continue;
            }

            if (!options.Contains(name))
            {
                var known = options.Concat(flags ?? []).Select(o => "--" + o);
                throw new CliUsageException($"unknown option --{name} (this command takes: {string.Join(", ", known)})");
            }

            string value;
            if (equals >= 0)
            {
                value = arg[(equals + 1)..];
            }
            else if (items.MoveNext())
            {
                value = items.Current;
            }
            else
            {
                throw new CliUsageException($"--{name} needs a value");
            }

            if (!parsed._values.TryGetValue(name, out var list))
            {
                parsed._values[name] = list = [];
            }

            list.Add(value);
        }

        return parsed;
    }

    /// <summary>True when the flag was given.</summary>
    public bool Has(string flag) => _flags.Contains(flag);

    /// <summary>Every value of a repeatable option, in order.</summary>
    public IReadOnlyList<string> All(string name) => _values.TryGetValue(name, out var list) ? list : [];

    /// <summary>The value of an option given at most once, or null.</summary>
    public string? Single(string name)
    {
        var values = All(name);
        if (values.Count > 1)
        {
            throw new CliUsageException($"--{name} was given {values.Count} times; give it once");
        }

        if (values is [var value] && string.IsNullOrWhiteSpace(value))
        {
            throw new CliUsageException($"--{name} must not be empty");
        }

        return values.Count == 1 ? values[0].Trim() : null;
    }

    /// <summary>The value of a required option.</summary>
    public string Required(string name) => Single(name) ?? throw new CliUsageException($"--{name} is required");

    /// <summary>A whole number option within <paramref name="min"/>..<paramref name="max"/>, or null when absent.</summary>
    public int? Int(string name, int min, int max)
    {
        if (Single(name) is not { } text)
        {
            return null;
        }

        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new CliUsageException($"--{name} must be a whole number from {min} to {max} (got '{text}')");
        }

        return value;
    }

    /// <summary>The one positional argument (a job id), or null when there is none.</summary>
    public string? OptionalPositional(string what)
    {
        if (_positionals.Count > 1)
        {
            throw new CliUsageException($"expected one {what}, got {_positionals.Count}: {string.Join(" ", _positionals)}");
        }

        if (_positionals is [var value] && string.IsNullOrWhiteSpace(value))
        {
            throw new CliUsageException($"the {what} must not be empty");
        }

        return _positionals.Count == 1 ? _positionals[0].Trim() : null;
    }

    /// <summary>The one positional argument (a job id), required.</summary>
    public string Positional(string what) => OptionalPositional(what) ?? throw new CliUsageException($"a {what} is required");

    /// <summary>Fails when positional arguments were given to a command that takes none.</summary>
    public void NoPositionals()
    {
        if (_positionals.Count > 0)
        {
            throw new CliUsageException($"unexpected argument '{_positionals[0]}'");
        }
    }
}
