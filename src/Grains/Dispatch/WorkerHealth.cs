namespace GenerationWorker.Grains.Dispatch;

/// <summary>This silo's worker state, as <c>/health</c> and the status endpoint report it. Thread-safe.</summary>
public sealed class WorkerHealth
{
    private volatile string? _fatal;
    private volatile bool _draining;
    private volatile bool _quotaPaused;
    private volatile bool _running;
    private int _inFlight;

    /// <summary>Why Gemini refuses the service (bad or leaked key), or null.</summary>
    public string? Fatal => _fatal;

    /// <summary>True once a SIGTERM started the graceful shutdown.</summary>
    public bool Draining => _draining;

    /// <summary>True while a 429 pauses the cluster's budget (as last seen by this silo).</summary>
    public bool QuotaPaused => _quotaPaused;

    /// <summary>True once this silo's dispatcher runs.</summary>
    public bool Running => _running;

    /// <summary>Jobs in flight on this silo.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Records that Gemini refuses the service.</summary>
    public void SetFatal(string reason) => _fatal = reason;

    /// <summary>Records the start of the graceful shutdown.</summary>
    public void SetDraining() => _draining = true;

    /// <summary>Records whether the budget is paused.</summary>
    public void SetQuotaPaused(bool paused) => _quotaPaused = paused;

    /// <summary>Records that the dispatcher runs.</summary>
    public void SetRunning() => _running = true;

    /// <summary>Records the number of jobs in flight.</summary>
    public void SetInFlight(int count) => Volatile.Write(ref _inFlight, count);
}
