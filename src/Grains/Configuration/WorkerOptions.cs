namespace GenerationWorker.Grains.Configuration;

/// <summary>How each silo claims and runs jobs. Each setting's variable, default and range are in <see cref="Settings"/>.</summary>
public sealed class WorkerOptions
{
    /// <summary><see cref="Settings.WorkerConcurrency"/>: jobs in flight per silo at most.</summary>
    public int Concurrency { get; set; } = Settings.WorkerConcurrency.Default;

    /// <summary><see cref="Settings.PollInterval"/>: how often to look for jobs when notifications are not trusted.</summary>
    public TimeSpan PollInterval { get; set; } = Settings.PollInterval.Default;

    /// <summary>
    /// <see cref="Settings.ListenEnabled"/>: wake on the table's notifications (true until decided at start: false when <c>DATABASE_URL</c>
    /// is a transaction-mode pooler and no unpooled URL is set, unless set explicitly). While the listener is healthy
    /// the poll runs only every <see cref="ListenSafetyPollInterval"/>; when false, every <see cref="PollInterval"/>.
    /// </summary>
    public bool ListenEnabled { get; set; } = true;

    /// <summary>
    /// <see cref="Settings.PrepareStatements"/>: let the service's own statements be prepared on their connections after a
    /// second use (true until decided at start: about a quarter less database CPU per job). At start, false when <c>DATABASE_URL</c> is
    /// a transaction-mode pooler that does not keep prepared statements (PgBouncer before 1.21), unless set explicitly.
    /// </summary>
    public bool PrepareStatements { get; set; } = true;

    /// <summary>
    /// <see cref="Settings.ClockOffset"/>: shifts this silo's budget clock (<see cref="Quota.BudgetClock"/>) by this much.
    /// For tests of clock skew between silos and of the Pacific day's end; leave it unset in production.
    /// </summary>
    public TimeSpan ClockOffset { get; set; } = Settings.ClockOffset.Default;

    /// <summary>The safety poll while notifications arrive: default 30 s.</summary>
    public TimeSpan ListenSafetyPollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary><see cref="Settings.JobLease"/>: a claim's lease, renewed while the job runs.</summary>
    public TimeSpan LeaseDuration { get; set; } = Settings.JobLease.Default;

    /// <summary><see cref="Settings.JobTimeout"/>: the most one claim of a job may run.</summary>
    public TimeSpan JobTimeout { get; set; } = Settings.JobTimeout.Default;

    /// <summary><see cref="Settings.ShutdownTimeout"/>: how long in-flight jobs may finish on SIGTERM.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = Settings.ShutdownTimeout.Default;

    /// <summary><see cref="Settings.RetryBase"/>: the first retry's delay, doubled on each attempt.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = Settings.RetryBase.Default;

    /// <summary><see cref="Settings.RetryMax"/>: the longest retry delay.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = Settings.RetryMax.Default;

    /// <summary>
    /// <see cref="Settings.ImageUrlAllowPrivate"/>: allow reference image URLs on private, loopback and link-local
    /// addresses (local runs and tests only).
    /// </summary>
    public bool ImageUrlAllowPrivate { get; set; } = Settings.ImageUrlAllowPrivate.Default;

    /// <summary><see cref="Settings.ImageFetchTimeout"/>: the time limit to download one reference image.</summary>
    public TimeSpan ImageFetchTimeout { get; set; } = Settings.ImageFetchTimeout.Default;

    /// <summary>
    /// <see cref="Settings.ImageMemoryBudget"/>, in bytes: the memory this silo's Gemini requests in flight may hold
    /// together, estimated per request (about 2 MB, since answers are streamed and large images decoded to temporary
    /// files, plus 3 times the input images, which the request body carries as base64; see <c>GeminiGate.ExpectedBytes</c>).
    /// Keeps a silo with many edit jobs inside its container's memory.
    /// </summary>
    public long ImageMemoryBudgetBytes { get; set; } = Settings.ImageMemoryBudget.Default;

    /// <summary>The largest reference image accepted by default: 20 MB (Gemini's inline request limit).</summary>
    public const long DefaultMaxImageBytes = 20 * 1024 * 1024;

    /// <summary>The largest reference image accepted, downloaded or inline: default 20 MB (Gemini's inline request limit).</summary>
    public long MaxImageBytes { get; set; } = DefaultMaxImageBytes;

    /// <summary>
    /// <see cref="Settings.AppUrl"/>: the web app's URL, against which reference images given as app paths
    /// (<c>/api/...</c>) are resolved; null: a job naming such a path fails, saying to set it.
    /// </summary>
    public Uri? AppUrl { get; set; } = Settings.AppUrl.Default;

    /// <summary>
    /// <see cref="Settings.PendingExpiry"/>: a pending job never claimed that was created longer ago than this fails
    /// with "expired after N minutes", without any Gemini request; <see cref="TimeSpan.Zero"/>: never.
    /// </summary>
    public TimeSpan PendingExpiry { get; set; } = Settings.PendingExpiry.Default;

    /// <summary>
    /// <see cref="Settings.AuditRetention"/>: rows of the audit table (<c>generation_job_event</c>) older than this are
    /// deleted, once an hour by each silo; zero keeps them forever.
    /// </summary>
    public TimeSpan AuditRetention { get; set; } = Settings.AuditRetention.Default;
}
