using System.Collections.Frozen;
using System.Reflection;

namespace GenerationWorker.Grains.Postgres;

/// <summary>The SQL the service runs, loaded once from the embedded <c>sql/queries/*.sql</c> files.</summary>
public static class SqlQueries
{
    private static readonly FrozenDictionary<string, string> Queries = Load();

    /// <summary>The text of the query file <c>sql/queries/{name}.sql</c>.</summary>
    /// <exception cref="KeyNotFoundException">No such query file was embedded.</exception>
    public static string Get(string name) =>
        Queries.TryGetValue(name, out var text)
            ? text
            : throw new KeyNotFoundException($"No embedded query 'queries/{name}.sql'.");

    private static FrozenDictionary<string, string> Load()
    {
        var assembly = typeof(SqlQueries).Assembly;
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith("queries/", StringComparison.Ordinal) || !resource.EndsWith(".sql", StringComparison.Ordinal))
            {
                continue;
            }

            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            result[resource["queries/".Length..^".sql".Length]] = reader.ReadToEnd();
        }

        return result.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
