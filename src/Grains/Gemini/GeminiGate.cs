namespace GenerationWorker.Grains.Gemini;

/// <summary>
/// Bounds this silo's Gemini requests in flight: at most <c>WORKER_CONCURRENCY</c> at once, and at most
/// <c>IMAGE_MEMORY_BUDGET_MB</c> of the memory they are expected to hold (see <see cref="ExpectedBytes"/>). A job's
/// variants run in parallel within these bounds.
/// </summary>
/// <remarks>Waiters are served in order, so a large request is not starved by a stream of small ones. A request larger
/// than the whole memory budget runs alone.</remarks>
public sealed class GeminiGate(int concurrency, long memoryBudgetBytes)
{
    private readonly object _lock = new();
    private readonly LinkedList<Waiter> _waiters = new();
    private int _inFlight;
    private long _bytes;

    /// <summary>
    /// The memory a request for an image of <paramref name="imageSize"/> with <paramref name="inputImageBytes"/> of input
    /// images is expected to hold while in flight, in bytes.
    /// </summary>
    /// <remarks>
    /// The answer is read in a streaming pass whose buffers are a few hundred KB, and an image larger than 1 MiB is
    /// decoded into a temporary file, whatever its size: about 2 MB per request (1 MB for 512 px images). The request
    /// body still carries the input images as base64, 4/3 of their size, and is serialized into a pooled buffer that
    /// grows by doubling before it is copied out: measured, 20 MB of input images make a 26.7 MB body and allocate
    /// 58 MB while it is built (the 32 MB buffer and the body), so 3 times the input bytes.
    /// </remarks>
    public static long ExpectedBytes(string? imageSize, long inputImageBytes = 0) =>
        (imageSize == "512" ? 1L << 20 : 2L << 20) + 3 * inputImageBytes;

    /// <summary>Waits for a request slot and <paramref name="bytes"/> of memory; dispose the result to free them.</summary>
    public Task<IDisposable> EnterAsync(long bytes, CancellationToken cancellationToken) =>
        EnterAsync(bytes, slots: 1, cancellationToken);

    /// <summary>
    /// Waits for <paramref name="bytes"/> of memory without a request slot (a reference image's download buffer);
    /// dispose the result to free it.
    /// </summary>
    public Task<IDisposable> ReserveMemoryAsync(long bytes, CancellationToken cancellationToken) =>
        EnterAsync(bytes, slots: 0, cancellationToken);

    private async Task<IDisposable> EnterAsync(long bytes, int slots, CancellationToken cancellationToken)
    {
        bytes = Math.Min(bytes, memoryBudgetBytes);
        Waiter waiter;
        lock (_lock)
        {
            if (_waiters.Count == 0 && Fits(bytes, slots))
            {
                Take(bytes, slots);
                return new Slot(this, bytes, slots);
            }

            waiter = new Waiter(bytes, slots);
            waiter.Node = _waiters.AddLast(waiter);
        }

        await using (cancellationToken.Register(() => Cancel(waiter)))
        {
            await waiter.Granted.Task;
        }

        return new Slot(this, bytes, slots);
    }

    private bool Fits(long bytes, int slots) =>
        _inFlight + slots <= concurrency && (_bytes == 0 || _bytes + bytes <= memoryBudgetBytes);

    private void Take(long bytes, int slots)
    {
        _inFlight += slots;
        _bytes += bytes;
    }

    private void Release(long bytes, int slots)
    {
        lock (_lock)
        {
            _inFlight -= slots;
            _bytes -= bytes;
            while (_waiters.First is { } first && Fits(first.Value.Bytes, first.Value.Slots))
            {
                _waiters.RemoveFirst();
                Take(first.Value.Bytes, first.Value.Slots);
                first.Value.Granted.TrySetResult();
            }
        }
    }

    private void Cancel(Waiter waiter)
    {
        lock (_lock)
        {
            if (waiter.Node?.List is null)
            {
                return;
            }

            _waiters.Remove(waiter.Node);
        }

        waiter.Granted.TrySetCanceled();
    }

    private sealed class Waiter(long bytes, int slots)
    {
        public long Bytes { get; } = bytes;

        public int Slots { get; } = slots;

        public TaskCompletionSource Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<Waiter>? Node { get; set; }
    }

    private sealed class Slot(GeminiGate gate, long bytes, int slots) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                gate.Release(bytes, slots);
            }
        }
    }
}
