namespace GenerationWorker.Grains.Jobs;

/// <summary>The handler of each job type the service runs.</summary>
public sealed class JobHandlers
{
    private readonly Dictionary<string, IJobHandler> _byType;

    /// <summary>Indexes the registered handlers by type.</summary>
    /// <exception cref="ArgumentException">Two handlers claim the same type.</exception>
    public JobHandlers(IEnumerable<IJobHandler> handlers)
    {
        _byType = new Dictionary<string, IJobHandler>(StringComparer.Ordinal);
        foreach (var handler in handlers)
        {
            if (!_byType.TryAdd(handler.Type, handler))
            {
                throw new ArgumentException($"Two handlers run job type '{handler.Type}'.", nameof(handlers));
            }
        }
    }

    /// <summary>The types the service runs, in ordinal order.</summary>
    public IReadOnlyList<string> Types => [.. _byType.Keys.Order(StringComparer.Ordinal)];

    /// <summary>The handler of <paramref name="type"/>, or null when the service does not run that type.</summary>
    public IJobHandler? For(string type) => _byType.GetValueOrDefault(type);

    /// <summary>The error a job of a type no handler runs fails with (or one whose row has NULL columns: see
    /// <see cref="Postgres.JobStore.NullColumnsType"/>).</summary>
    public string UnknownType(string type) => type.StartsWith(Postgres.JobStore.NullColumnsType, StringComparison.Ordinal)
        ? $"the job's row has NULL in {type[Postgres.JobStore.NullColumnsType.Length..]}: a job needs a client_id, a type and a payload"
        : $"unknown job type '{PayloadReader.Truncate(type)}' (expected {string.Join(", ", Types)})";
}
