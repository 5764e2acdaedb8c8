using System.Collections.Frozen;
using System.Reflection;

namespace GenerationWorker.Grains.Postgres;

/// <summary>
/// The service's named SQL statements: each file <c>sql/queries/&lt;Name&gt;.sql</c> is embedded in this assembly as
/// the resource <c>queries/&lt;Name&gt;.sql</c> and is looked up here by its name.
/// </summary>
public static class SqlQueries
{
    private const string Prefix = "queries/";
    private const string Suffix = ".sql";

    private static readonly Lazy<FrozenDictionary<string, string>> All = new(() => LoadAll(typeof(SqlQueries).Assembly));

    /// <summary>The names of every embedded query, in ordinal order.</summary>
    public static IReadOnlyList<string> Names => [.. All.Value.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Returns the text of the query named <paramref name="name"/> (the file name without <c>.sql</c>).</summary>
    /// <param name="name">The query's name, case-sensitive, for example <c>MigrationLock</c>.</param>
    /// <exception cref="KeyNotFoundException">No file <c>sql/queries/&lt;name&gt;.sql</c> was embedded.</exception>
    public static string Get(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (All.Value.TryGetValue(name, out var text))
        {
            return text;
        }

        throw new KeyNotFoundException(
            $"No SQL query named '{name}': expected the embedded resource '{Prefix}{name}{Suffix}' from " +
            $"sql/queries/{name}{Suffix}. Known queries: {string.Join(", ", Names)}.");
    }

    /// <summary>Reads every embedded resource named <c>queries/*.sql</c> of <paramref name="assembly"/>.</summary>
    private static FrozenDictionary<string, string> LoadAll(Assembly assembly)
    {
        var queries = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (resource.StartsWith(Prefix, StringComparison.Ordinal) && resource.EndsWith(Suffix, StringComparison.Ordinal))
            {
                var name = resource[Prefix.Length..^Suffix.Length];
                queries.Add(name, EmbeddedText.Read(assembly, resource));
            }
        }

        return queries.ToFrozenDictionary(StringComparer.Ordinal);
    }
}

/// <summary>Reads an embedded text resource as UTF-8.</summary>
internal static class EmbeddedText
{
    /// <summary>The whole text of <paramref name="resource"/> in <paramref name="assembly"/>.</summary>
    public static string Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded resource '{resource}' is missing from {assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
