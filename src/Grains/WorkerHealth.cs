using GenerationWorker.Grains.Jobs;

namespace GenerationWorker.Grains;

/// <summary>This silo's worker state, as <c>/health</c> and the status endpoint report it. Thread-safe.</summary>
public sealed class WorkerHealth
{
    private volatile string? _fatal;
    private volatile string? _storeUnreachable;
    private volatile bool _draining;
    private volatile bool _quotaPaused;
    private volatile bool _running;
    private int _inFlight;
    private readonly long[] _ended = new long[Enum.GetValues<JobOutcome>().Length];

    /// <summary>
    /// Why the service is refused (a bad or leaked Gemini key, an image store answering AccessDenied or NoSuchBucket),
    /// found by a job of this silo or of another silo with the same configuration; or null.
    /// </summary>
    public string? Fatal => _fatal;

    /// <summary>Why the image store cannot be reached while the worker waits for it before claiming, or null.</summary>
    public string? StoreUnreachable => _storeUnreachable;

    /// <summary>True once a SIGTERM started the graceful shutdown.</summary>
    public bool Draining => _draining;

    /// <summary>True while a 429 pauses the cluster's budget (as last seen by this silo).</summary>
    public bool QuotaPaused => _quotaPaused;

    /// <summary>True once this silo's dispatcher runs.</summary>
    public bool Running => _running;

    /// <summary>Jobs in flight on this silo.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Job attempts ended on this silo since it started, by outcome.</summary>
    public JobCounts Ended => new(
        Interlocked.Read(ref _ended[(int)JobOutcome.Completed]),
        Interlocked.Read(ref _ended[(int)JobOutcome.Failed]),
        Interlocked.Read(ref _ended[(int)JobOutcome.Retried]),
        Interlocked.Read(ref _ended[(int)JobOutcome.Released]),
        Interlocked.Read(ref _ended[(int)JobOutcome.Cancelled]));

    /// <summary>Records that the service is refused.</summary>
    public void SetFatal(string reason) => _fatal = reason;

    /// <summary>Records that the image store cannot be reached (null: it answers again).</summary>
    public void SetStoreUnreachable(string? reason) => _storeUnreachable = reason;

    /// <summary>Records the start of the graceful shutdown.</summary>
    public void SetDraining() => _draining = true;

    /// <summary>Records whether the budget is paused.</summary>
    public void SetQuotaPaused(bool paused) => _quotaPaused = paused;

    /// <summary>Records that the dispatcher runs.</summary>
    public void SetRunning() => _running = true;

    /// <summary>Records the number of jobs in flight.</summary>
    public void SetInFlight(int count) => Volatile.Write(ref _inFlight, count);

    /// <summary>Counts a job attempt that ended on this silo.</summary>
    public void JobEnded(JobOutcome outcome) => Interlocked.Increment(ref _ended[(int)outcome]);
}

/// <summary>Job attempts ended, by outcome.</summary>
public readonly record struct JobCounts(long Completed, long Failed, long Retried, long Released, long Cancelled)
{
    /// <summary>All of them.</summary>
    public long Total => Completed + Failed + Retried + Released + Cancelled;

    /// <summary>The attempts ended between two readings.</summary>
    public static JobCounts operator -(JobCounts later, JobCounts earlier) => new(
        later.Completed - earlier.Completed,
        later.Failed - earlier.Failed,
        later.Retried - earlier.Retried,
        later.Released - earlier.Released,
        later.Cancelled - earlier.Cancelled);
}
