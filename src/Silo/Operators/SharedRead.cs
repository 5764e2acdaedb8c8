namespace GenerationWorker.Silo.Operators;

/// <summary>
/// One read shared by every caller: the first caller after the last read went stale starts it, callers that arrive
/// while it runs await the same read, and its answer (or its failure) is served for <c>freshness</c> after it ended.
/// However many callers there are, the source is read at most once per <c>freshness</c>.
/// </summary>
/// <typeparam name="T">What the read returns.</typeparam>
/// <param name="read">The read; it is not cancelled when a caller gives up (the others may still wait for it).</param>
/// <param name="freshness">How long a finished read is served (the operator page: 1 second).</param>
/// <param name="time">The clock.</param>
public sealed class SharedRead<T>(Func<Task<T>> read, TimeSpan freshness, TimeProvider time)
{
    private readonly Lock _gate = new();
    private Task<T>? _current;
    private long _endedAt;

    /// <summary>The latest read if it is running or still fresh, else a new one.</summary>
    /// <param name="cancellationToken">Stops this caller's wait, not the read.</param>
    public Task<T> GetAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_current is not { } current || (current.IsCompleted && time.GetElapsedTime(Volatile.Read(ref _endedAt)) >= freshness))
            {
                current = _current = ReadAsync();
            }

            return current.WaitAsync(cancellationToken);
        }
    }

    private async Task<T> ReadAsync()
    {
        try
        {
            return await read();
        }
        finally
        {
            // Written before the task completes: whoever sees it completed sees when.
            Volatile.Write(ref _endedAt, time.GetTimestamp());
        }
    }
}
