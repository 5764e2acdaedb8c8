namespace GenerationWorker.Grains.Dispatch;

/// <summary>How each silo claims and runs jobs.</summary>
public sealed class WorkerOptions
{
    /// <summary><c>WORKER_CONCURRENCY</c>: jobs in flight per silo at most; default 5.</summary>
    public int Concurrency { get; set; } = 5;

    /// <summary><c>POLL_INTERVAL_MS</c>: how often to look for jobs when notifications are not trusted; default 1 s.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// <c>LISTEN_ENABLED</c>: wake on the table's notifications (default true; at start, false when <c>DATABASE_URL</c>
    /// is a transaction-mode pooler and no unpooled URL is set, unless set explicitly). While the listener is healthy
    /// the poll runs only every <see cref="ListenSafetyPollInterval"/>; when false, every <see cref="PollInterval"/>.
    /// </summary>
    public bool ListenEnabled { get; set; } = true;

    /// <summary>
    /// <c>DATABASE_PREPARE_STATEMENTS</c>: let the service's own statements be prepared on their connections after a
    /// second use (default true: about a quarter less database CPU per job). At start, false when <c>DATABASE_URL</c> is
    /// a transaction-mode pooler that does not keep prepared statements (PgBouncer before 1.21), unless set explicitly.
    /// </summary>
    public bool PrepareStatements { get; set; } = true;

    /// <summary>
    /// <c>CLOCK_OFFSET_SECONDS</c>: shifts this silo's wall clock (its <see cref="TimeProvider"/>) by this much; default
    /// 0. For tests of clock skew between silos and of the Pacific day's end; leave it unset in production.
    /// </summary>
    public TimeSpan ClockOffset { get; set; }

    /// <summary>The safety poll while notifications arrive: default 30 s.</summary>
    public TimeSpan ListenSafetyPollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary><c>JOB_LEASE_SECONDS</c>: a claim's lease, renewed while the job runs; default 60 s.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary><c>JOB_TIMEOUT_SECONDS</c>: the most one claim of a job may run; default 600 s.</summary>
    public TimeSpan JobTimeout { get; set; } = TimeSpan.FromSeconds(600);

    /// <summary><c>SHUTDOWN_TIMEOUT_SECONDS</c>: how long in-flight jobs may finish on SIGTERM; default 25 s.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(25);

    /// <summary><c>RETRY_BASE_SECONDS</c>: the first retry's delay, doubled on each attempt; default 5 s.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary><c>RETRY_MAX_SECONDS</c>: the longest retry delay; default 300 s.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(300);

    /// <summary>
    /// <c>IMAGE_URL_ALLOW_PRIVATE</c>: allow reference image URLs on private, loopback and link-local addresses
    /// (local runs and tests only); default false.
    /// </summary>
    public bool ImageUrlAllowPrivate { get; set; }

    /// <summary><c>IMAGE_FETCH_TIMEOUT_SECONDS</c>: the time limit to download one reference image; default 30 s.</summary>
    public TimeSpan ImageFetchTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// <c>IMAGE_MEMORY_BUDGET_MB</c>: the memory this silo's Gemini requests in flight may hold together, estimated per
    /// request (about 2 MB, since answers are streamed and large images decoded to temporary files, plus 3 times the
    /// input images, which the request body carries as base64; see <c>GeminiGate.ExpectedBytes</c>); default 512 MB.
    /// Keeps a silo with many edit jobs inside its container's memory.
    /// </summary>
    public long ImageMemoryBudgetBytes { get; set; } = 512L << 20;

    /// <summary>The largest reference image accepted by default: 20 MB (Gemini's inline request limit).</summary>
    public const long DefaultMaxImageBytes = 20 * 1024 * 1024;

    /// <summary>The largest reference image accepted, downloaded or inline: default 20 MB (Gemini's inline request limit).</summary>
    public long MaxImageBytes { get; set; } = DefaultMaxImageBytes;

    /// <summary>
    /// <c>NEXT_PUBLIC_APP_URL</c>: the web app's URL, against which reference images given as app paths
    /// (<c>/api/...</c>) are resolved; default null: a job naming such a path fails, saying to set it.
    /// </summary>
    public Uri? AppUrl { get; set; }

    /// <summary>
    /// <c>PENDING_EXPIRY_MINUTES</c>: a pending job never claimed that was created longer ago than this fails with
    /// "expired after N minutes", without any Gemini request; default <see cref="TimeSpan.Zero"/>: never.
    /// </summary>
    public TimeSpan PendingExpiry { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// <c>AUDIT_RETENTION_DAYS</c>: rows of the audit table (<c>generation_job_event</c>) older than this are deleted,
    /// once an hour by each silo; default 30 days, zero keeps them forever.
    /// </summary>
    public TimeSpan AuditRetention { get; set; } = TimeSpan.FromDays(30);
}
