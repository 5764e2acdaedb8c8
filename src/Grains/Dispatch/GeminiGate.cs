namespace GenerationWorker.Grains.Dispatch;

/// <summary>
/// Bounds this silo's Gemini requests in flight to <c>WORKER_CONCURRENCY</c>: a job's variants run in parallel, but
/// never more requests at once than the setting allows, whatever the jobs' variant counts.
/// </summary>
public sealed class GeminiGate(int concurrency) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(concurrency, concurrency);

    /// <summary>Waits for a free request slot; dispose the result to free it.</summary>
    public async Task<IDisposable> EnterAsync(CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken);
        return new Slot(_slots);
    }

    /// <inheritdoc />
    public void Dispose() => _slots.Dispose();

    private sealed class Slot(SemaphoreSlim slots) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                slots.Release();
            }
        }
    }
}
