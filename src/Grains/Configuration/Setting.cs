using System.Globalization;

namespace GenerationWorker.Grains.Configuration;

/// <summary>
/// One environment variable of the service: its name (and the app's other names of it), its default, what it accepts
/// and what it does. <see cref="Settings"/> declares each once; the host reads and validates them, the options classes
/// take their defaults from them, and the README's table of variables is rendered from them.
/// </summary>
/// <remarks>
/// Every error a setting reports completes a sentence that starts with the variable's name
/// (<c>WORKER_CONCURRENCY must be a whole number from 1 to 10000 (got 'five')</c>). A parser throws
/// <see cref="FormatException"/> with such words, or with no message to say "must be" what the setting
/// <see cref="Accepts"/>. Only short values (numbers, switches, choices) are quoted back: URLs, keys and files may hold
/// a secret.
/// </remarks>
public abstract class Setting
{
    private static readonly string NoMessage = new FormatException().Message;

    private protected Setting(string name, IReadOnlyList<string> aliases, string accepts, string description, bool quotesValue)
    {
        Name = name;
        Aliases = aliases;
        Accepts = accepts;
        Description = description;
        QuotesValue = quotesValue;
    }

    /// <summary>The variable's name.</summary>
    public string Name { get; }

    /// <summary>Other names of the same setting (the app's deployment names), read when <see cref="Name"/> is not set.</summary>
    public IReadOnlyList<string> Aliases { get; }

    /// <summary>What a value must be, in words that follow "must be": <c>a whole number from 1 to 10000</c>.</summary>
    public string Accepts { get; }

    /// <summary>What the setting does, as the README says it (Markdown).</summary>
    public string Description { get; }

    /// <summary>True when an error may quote the value given (numbers, switches, choices).</summary>
    public bool QuotesValue { get; }

    /// <summary>True when start-up fails without it.</summary>
    public bool Required { get; private protected init; }

    /// <summary>The default as the README shows it: a value, <c>none</c>, <c>required</c>, or how it is decided.</summary>
    public abstract string DefaultText { get; }

    /// <summary>Why <paramref name="value"/> is refused, completing "NAME ...", or null when it is accepted.</summary>
    public abstract string? Problem(string value);

    /// <summary>True when two names of the setting are set to <paramref name="first"/> and <paramref name="second"/> that mean the same.</summary>
    public virtual bool SameValue(string first, string second) => string.Equals(first, second, StringComparison.Ordinal);

    /// <summary>Why <paramref name="value"/> was refused, completing "NAME ...", from the parser's exception.</summary>
    private protected string Refusal(string value, FormatException exception) =>
        string.IsNullOrEmpty(exception.Message) || exception.Message == NoMessage
            ? "must be " + Accepts + (QuotesValue ? $" (got '{value}')" : "")
            : exception.Message;

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>.</summary>
    public static Setting<int> Whole(string name, int @default, int min, int max, string description) =>
        Whole(name, @default, min, max, null, n => n, description);

    /// <summary>
    /// A whole number of <paramref name="unit"/> from <paramref name="min"/> to <paramref name="max"/>, converted by
    /// <paramref name="convert"/> (milliseconds to a <see cref="TimeSpan"/>, megabytes to bytes).
    /// </summary>
    public static Setting<T> Whole<T>(string name, int @default, int min, int max, string? unit, Func<int, T> convert, string description, params string[] aliases)
    {
        var accepts = min == int.MinValue && max == int.MaxValue
            ? "a whole number"
            : string.Create(CultureInfo.InvariantCulture, $"a whole number {(unit is null ? "" : "of " + unit + " ")}from {min} to {max}");
        return new Setting<T>(name, aliases, accepts, description, true, convert(@default),
            Number(@default),
            value => int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) && number >= min && number <= max
                ? convert(number)
                : throw new FormatException());
    }

    /// <summary>A number of seconds, fractions allowed, from <paramref name="min"/> to <paramref name="max"/>.</summary>
    public static Setting<TimeSpan> Seconds(string name, double @default, double min, double max, string description) =>
        new(name, [], string.Create(CultureInfo.InvariantCulture, $"a number of seconds from {min} to {max}"), description, true,
            TimeSpan.FromSeconds(@default), Number(@default),
            value => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number)
                && number >= min && number <= max
                ? TimeSpan.FromSeconds(number)
                : throw new FormatException());

    /// <summary>On or off: <c>true</c>, <c>1</c>, <c>yes</c> or <c>false</c>, <c>0</c>, <c>no</c>, in any case.</summary>
    public static Setting<bool> Switch(string name, bool @default, string description) =>
        new SwitchSetting<bool>(name, [], description, @default, @default ? "true" : "false", ParseSwitch);

    /// <summary>On or off when set; unset (null), <paramref name="decided"/> says how the service decides.</summary>
    public static Setting<bool?> Switch(string name, string decided, string description, params string[] aliases) =>
        new SwitchSetting<bool?>(name, aliases, description, null, decided, value => ParseSwitch(value));

    /// <summary>
    /// One of <paramref name="choices"/>' words, in any case; the first word of each value is the one documented.
    /// <paramref name="defaultText"/> says how the default is decided when no word names it.
    /// </summary>
    public static Setting<T> Choice<T>(string name, T @default, string description, string? defaultText, params (string Word, T Value)[] choices) =>
        new(name, [], string.Join(" or ", choices.DistinctBy(c => c.Value).Select(c => c.Word)), description, true, @default,
            defaultText ?? Quoted(choices.First(c => EqualityComparer<T>.Default.Equals(c.Value, @default)).Word),
            value => choices.FirstOrDefault(c => c.Word.Equals(value, StringComparison.OrdinalIgnoreCase)) is { Word: not null } match
                ? match.Value
                : throw new FormatException());

    /// <summary>Any text; <paramref name="accepts"/> names what it is, for the message when it is required and missing.</summary>
    public static Setting<string?> Text(string name, string? @default, string accepts, string description, string? defaultText = null) =>
        new(name, [], accepts, description, false, @default, defaultText ?? Quoted(@default), value => value);

    /// <summary>A value <paramref name="parse"/> reads (see <see cref="Setting"/> for what it throws).</summary>
    public static Setting<T> Parsed<T>(
        string name, T @default, Func<string, T> parse, string accepts, string description, string? defaultText = null, params string[] aliases) =>
        new(name, aliases, accepts, description, false, @default, defaultText ?? Quoted(@default is Uri uri ? uri.OriginalString : @default?.ToString()), parse);

    /// <summary>A value start-up fails without.</summary>
    public static Setting<T> Needed<T>(string name, Func<string, T> parse, string accepts, string description, params string[] aliases) =>
        new(name, aliases, accepts, description, false, default!, "required", parse) { Required = true };

    private static bool ParseSwitch(string value) => value.ToLowerInvariant() switch
    {
        "true" or "1" or "yes" => true,
        "false" or "0" or "no" => false,
        _ => throw new FormatException(),
    };

    private static string Number<T>(T value)
        where T : IFormattable => value.ToString(null, CultureInfo.InvariantCulture);

    private static string Quoted(string? value) => value is null ? "none" : $"`{value}`";

    private sealed class SwitchSetting<T>(string name, IReadOnlyList<string> aliases, string description, T @default, string defaultText, Func<string, T> parse)
        : Setting<T>(name, aliases, "true or false", description, true, @default, defaultText, parse)
    {
        public override bool SameValue(string first, string second) => string.Equals(first, second, StringComparison.OrdinalIgnoreCase);
    }
}

/// <summary>A setting whose value is a <typeparamref name="T"/>.</summary>
/// <typeparam name="T">What the service uses: a number, a <see cref="TimeSpan"/>, a URL...</typeparam>
public class Setting<T> : Setting
{
    private readonly Func<string, T> _parse;
    private readonly string _defaultText;
    private Func<T, string?>? _rule;

    internal Setting(
        string name, IReadOnlyList<string> aliases, string accepts, string description, bool quotesValue, T @default, string defaultText,
        Func<string, T> parse)
        : base(name, aliases, accepts, description, quotesValue)
    {
        Default = @default;
        _defaultText = defaultText;
        _parse = parse;
    }

    /// <summary>The value when the variable is not set.</summary>
    public T Default { get; }

    /// <inheritdoc/>
    public override string DefaultText => _defaultText;

    /// <summary>
    /// Adds, while <see cref="Settings"/> declares it, a rule the parsed value must also keep: <paramref name="rule"/>
    /// returns why a value breaks it (completing "NAME ..."), or null.
    /// </summary>
    internal Setting<T> Must(Func<T, string?> rule)
    {
        _rule = rule;
        return this;
    }

    /// <inheritdoc/>
    public override string? Problem(string value) => TryRead(value, out _, out var problem) ? null : problem;

    /// <summary>Reads <paramref name="value"/> (trimmed, not empty); false with the reason, completing "NAME ...", when it is refused.</summary>
    public bool TryRead(string value, out T result, out string? problem)
    {
        try
        {
            result = _parse(value);
        }
        catch (FormatException exception)
        {
            (result, problem) = (Default, Refusal(value, exception));
            return false;
        }

        problem = _rule?.Invoke(result);
        return problem is null;
    }
}
