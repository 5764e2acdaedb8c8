using System.Collections.ObjectModel;
using System.Net;
using System.Reflection;
using GenerationWorker.Grains.Cost;
using GenerationWorker.Grains.Postgres;
using GenerationWorker.Grains.Quota;
using GenerationWorker.Grains.Storage;

namespace GenerationWorker.Grains.Configuration;

/// <summary>
/// Every environment variable the service reads, each declared once: its name, default, what it accepts and what it
/// does. The host reads them (<c>ServiceSettings</c>), the options classes take their defaults from them, and the
/// README's table of variables is rendered from <see cref="All"/> (a test compares the two).
/// </summary>
public static class Settings
{
    /// <summary>The shortest <c>DASHBOARD_PASSWORD</c> accepted: 12 characters.</summary>
    public const int DashboardPasswordMinLength = 12;

    private const string ModelId = "a model id such as gemini-2.5-flash-image (letters, digits, '.', '-', '_')";

    /// <summary><c>DATABASE_URL</c>, as an Npgsql connection string.</summary>
    public static readonly Setting<string?> DatabaseUrl = Setting.Needed<string?>(
        "DATABASE_URL", Postgres.DatabaseUrl.ToConnectionString, "a postgres:// URL or an Npgsql connection string",
        "`postgres://user:p%40ss@host:5432/db?sslmode=require` (Neon, Railway) or an Npgsql `Host=...;` string; pooled (Neon's default `-pooler` host) or direct: told apart at start");

    /// <summary><c>DATABASE_URL_UNPOOLED</c> (or <c>DIRECT_URL</c>), as an Npgsql connection string.</summary>
    public static readonly Setting<string?> DatabaseUrlUnpooled = Setting.Parsed<string?>(
        "DATABASE_URL_UNPOOLED", null, Postgres.DatabaseUrl.ToConnectionString,
        "a postgres:// URL or an Npgsql connection string of the direct (unpooled) database",
        "the direct URL beside a pooled `DATABASE_URL` (Neon and Vercel set both): job notifications and migrations use it",
        aliases: "DIRECT_URL");

    /// <summary><c>GEMINI_API_KEY</c> (or <c>GOOGLE_AI_STUDIO_API_KEY</c>).</summary>
    public static readonly Setting<string?> GeminiApiKey = Setting.Needed<string?>(
        "GEMINI_API_KEY", key => key, "the Gemini API key", "sent in the `x-goog-api-key` header, never logged", "GOOGLE_AI_STUDIO_API_KEY");

    /// <summary><c>GEMINI_BASE_URL</c>.</summary>
    public static readonly Setting<Uri> GeminiBaseUrl = Setting.Parsed(
        "GEMINI_BASE_URL", new Uri("https://generativelanguage.googleapis.com"), HttpUrl, "an http(s) URL", "where Gemini is called");

    /// <summary><c>GEMINI_MODEL</c>.</summary>
    public static readonly Setting<string> GeminiModel = Setting.Parsed(
        "GEMINI_MODEL", "gemini-2.5-flash-image", Model, ModelId, "generations at 1K (or no quality); a payload's `modelOverrides.imageModel` wins");

    /// <summary><c>GEMINI_FALLBACK_MODEL</c>.</summary>
    public static readonly Setting<string> GeminiFallbackModel = Setting.Parsed(
        "GEMINI_FALLBACK_MODEL", "gemini-2.5-flash-image", Model, ModelId, "used when the model answers 404; an edit's fallback too");

    /// <summary><c>GEMINI_HIGH_RES_MODEL</c>.</summary>
    public static readonly Setting<string> GeminiHighResModel = Setting.Parsed(
        "GEMINI_HIGH_RES_MODEL", "gemini-3-pro-image", Model, ModelId, "generations at 2K and 4K");

    /// <summary><c>GEMINI_EDIT_MODEL</c>.</summary>
    public static readonly Setting<string> GeminiEditModel = Setting.Parsed(
        "GEMINI_EDIT_MODEL", "gemini-3-pro-image", Model, ModelId, "edits");

    /// <summary><c>GEMINI_VIDEO_MODEL</c>.</summary>
    public static readonly Setting<string> GeminiVideoModel = Setting.Parsed(
        "GEMINI_VIDEO_MODEL", "veo-3.1-generate-preview", Model, ModelId, "videos (Veo)");

    /// <summary><c>VIDEO_POLL_SECONDS</c>.</summary>
    public static readonly Setting<TimeSpan> VideoPoll = Setting.Seconds(
        "VIDEO_POLL_SECONDS", 10, 1, 600, "how often a started video operation is polled; shorter than `VIDEO_TIMEOUT_MINUTES`");

    /// <summary><c>VIDEO_TIMEOUT_MINUTES</c>.</summary>
    public static readonly Setting<TimeSpan> VideoTimeout = Setting.Whole(
        "VIDEO_TIMEOUT_MINUTES", 30, 1, 1440, "minutes", n => TimeSpan.FromMinutes(n), "how long a video operation may run before the job gives up on it");

    /// <summary><c>GEMINI_TIMEOUT_SECONDS</c>.</summary>
    public static readonly Setting<TimeSpan> GeminiTimeout = Setting.Seconds(
        "GEMINI_TIMEOUT_SECONDS", 300, 1, 3600, "one Gemini request");

    /// <summary><c>GEMINI_PRICES</c>.</summary>
    public static readonly Setting<PriceTable> GeminiPrices = Setting.Parsed(
        "GEMINI_PRICES", PriceTable.Defaults, PriceTable.Parse, "a JSON object of model prices or the path of a file holding one",
        "the price table, for the cost ledger: entries replace the defaults model by model",
        $"Google's list prices of {PriceTable.DefaultsAsOf} (see [Cost](#cost))");

    /// <summary><c>IMAGE_SPOOL_DIR</c>, as a full path.</summary>
    public static readonly Setting<string?> ImageSpoolDirectory = Setting.Parsed<string?>(
        "IMAGE_SPOOL_DIR", null, ExistingDirectory, "an existing directory",
        "where generated images over 1 MiB are decoded to, and their encoded PNG and WebP written (temporary files, deleted once stored); use a disk, not a tmpfs, or they stay in memory",
        "the system's temporary directory (`TMPDIR`, else `/tmp`)");

    /// <summary><c>STORAGE</c>.</summary>
    public static readonly Setting<StorageKind> Storage = Setting.Choice(
        "STORAGE", StorageKind.R2, "`r2` (Cloudflare R2 or any S3-compatible store) or `local`", null,
        ("r2", StorageKind.R2), ("s3", StorageKind.R2), ("local", StorageKind.Local));

    /// <summary><c>R2_ACCOUNT_ID</c>.</summary>
    public static readonly Setting<string?> R2AccountId = Setting.Parsed<string?>(
        "R2_ACCOUNT_ID", null, HostLabel,
        "the Cloudflare account id (letters, digits and '-')",
        "the endpoint is `https://<id>.r2.cloudflarestorage.com`", "required for r2 (unless `R2_ENDPOINT`)");

    /// <summary><c>R2_ENDPOINT</c>.</summary>
    public static readonly Setting<Uri?> R2Endpoint = Setting.Parsed<Uri?>(
        "R2_ENDPOINT", null, HttpsUrl, "an https URL (uploads are sent unsigned, which needs TLS)",
        "overrides the endpoint (another S3-compatible store)");

    /// <summary><c>R2_ACCESS_KEY_ID</c>.</summary>
    public static readonly Setting<string?> R2AccessKeyId = Setting.Text(
        "R2_ACCESS_KEY_ID", null, "the R2 access key id", "the store's access key id", "required for r2");

    /// <summary><c>R2_SECRET_ACCESS_KEY</c> (never logged).</summary>
    public static readonly Setting<string?> R2SecretAccessKey = Setting.Text(
        "R2_SECRET_ACCESS_KEY", null, "the R2 secret access key", "the store's secret access key, never logged", "required for r2");

    /// <summary><c>R2_BUCKET</c>.</summary>
    public static readonly Setting<string?> R2Bucket = Setting.Text(
        "R2_BUCKET", null, "the bucket name", "the bucket images are stored in", "required for r2");

    /// <summary><c>R2_PUBLIC_URL</c>, without a trailing slash.</summary>
    public static readonly Setting<string?> R2PublicUrl = Setting.Parsed<string?>(
        "R2_PUBLIC_URL", null, PublicBaseUrl, "the bucket's public http(s) URL",
        "the bucket's public URL; result URL = this + `/` + key", "required for r2 (unless `CDN_URL`)");

    /// <summary><c>CDN_URL</c>, without a trailing slash.</summary>
    public static readonly Setting<string?> CdnUrl = Setting.Parsed<string?>(
        "CDN_URL", null, PublicBaseUrl, "an http(s) URL", "when set, result URLs use it instead of `R2_PUBLIC_URL` (local storage too)");

    /// <summary><c>LOCAL_STORAGE_DIR</c>.</summary>
    public static readonly Setting<string?> LocalStorageDirectory = Setting.Text(
        "LOCAL_STORAGE_DIR", ".local/storage", "a directory", "for `STORAGE=local`; served at `http://localhost:$PORT/files`");

    /// <summary><c>WORKER_CONCURRENCY</c>.</summary>
    public static readonly Setting<int> WorkerConcurrency = Setting.Whole(
        "WORKER_CONCURRENCY", 5, 1, 10_000, "jobs, and Gemini requests, in flight per silo");

    /// <summary><c>IMAGE_MEMORY_BUDGET_MB</c>, in bytes.</summary>
    public static readonly Setting<long> ImageMemoryBudget = Setting.Whole(
        "IMAGE_MEMORY_BUDGET_MB", 512, 16, 1_000_000, "megabytes", n => (long)n << 20,
        "expected memory of a silo's Gemini requests in flight (about 2 MB each, as answers are streamed to temporary files, plus 3 times an edit's input images, which the request body carries as base64): keeps many edit jobs inside the container's memory");

    /// <summary><c>MAX_JOBS_PER_MINUTE</c>.</summary>
    public static readonly Setting<int> MaxJobsPerMinute = Setting.Whole(
        "MAX_JOBS_PER_MINUTE", 60, 0, 10_000_000,
        "the cluster's Gemini requests (every variant, every retry) per window for each model `GEMINI_MODEL_BUDGETS` does not name; 0 = no budget for them (a job with more variants than the limit sends them across windows)");

    /// <summary><c>QUOTA_WINDOW_SECONDS</c>.</summary>
    public static readonly Setting<TimeSpan> QuotaWindow = Setting.Seconds(
        "QUOTA_WINDOW_SECONDS", 60, 1, 86_400, "the window of `MAX_JOBS_PER_MINUTE`");

    /// <summary><c>QUOTA_MARGIN_MS</c>.</summary>
    public static readonly Setting<TimeSpan> QuotaMargin = Setting.Whole(
        "QUOTA_MARGIN_MS", 250, 0, 60_000, "milliseconds", n => TimeSpan.FromMilliseconds(n),
        "how long after a request was written it may still reach Gemini (the network's transit): a slot is reused one window plus this after its request");

    /// <summary><c>GEMINI_MODEL_BUDGETS</c>.</summary>
    public static readonly Setting<IReadOnlyDictionary<string, IReadOnlyList<BudgetLimit>>> ModelBudgets = Setting.Parsed(
        "GEMINI_MODEL_BUDGETS", ReadOnlyDictionary<string, IReadOnlyList<BudgetLimit>>.Empty, BudgetSettings.ParseModelBudgets,
        "model=N/Ws|N/day[,...] entries separated by ;",
        "each named model's own limits, instead of `MAX_JOBS_PER_MINUTE` per window: `N/Ws` is at most N requests in any W seconds, `N/day` per Pacific day (Gemini's reset), e.g. `gemini-3-pro-image=20/60s,250/day`",
        "none");

    /// <summary><c>CLIENT_BUDGETS</c>.</summary>
    public static readonly Setting<IReadOnlyDictionary<string, ClientBudget>> ClientBudgets = Setting.Parsed(
        "CLIENT_BUDGETS", ReadOnlyDictionary<string, ClientBudget>.Empty, BudgetSettings.ParseClientBudgets,
        "client=weight:W|N/Ws|N/day[,...] entries separated by ;",
        "each named client's share of every model's budget: `weight:W` (1 to 1000, default 1: a client of weight 3 gets 3 requests for every 1 of a client of weight 1) and its own caps `N/Ws` or `N/day`, counted across every model; the client `*` sets every other client's",
        "none");

    /// <summary><c>INTERACTIVE_PRIORITY</c>.</summary>
    public static readonly Setting<int> InteractivePriority = Setting.Whole(
        "INTERACTIVE_PRIORITY", 50, int.MinValue, int.MaxValue, "jobs of this priority or lower (and edits) are interactive");

    /// <summary><c>INTERACTIVE_RESERVE_PERCENT</c>.</summary>
    public static readonly Setting<int> InteractiveReservePercent = Setting.Whole(
        "INTERACTIVE_RESERVE_PERCENT", 10, 0, 50, "the part of each model's budget (in percent) that other work may borrow only while no interactive job waits");

    /// <summary><c>QUOTA_BURST_PERCENT</c>.</summary>
    public static readonly Setting<int> QuotaBurstPercent = Setting.Whole(
        "QUOTA_BURST_PERCENT", 10, 1, 100,
        "the most of a window's budget (in percent) granted at once; the rest is paced evenly through the window (and a per-day limit through the day)");

    /// <summary><c>SPEND_CAPS</c>.</summary>
    public static readonly Setting<IReadOnlyList<SpendCap>> SpendCaps = Setting.Parsed<IReadOnlyList<SpendCap>>(
        "SPEND_CAPS", [], SpendCap.ParseAll, "global|client|*=dollars/day|/month entries separated by ;",
        "caps on what Gemini requests cost, per Pacific day or month: `global` for the cluster, a client id, or `*` for each client (`global=300/day;*=20/day;client_42=500/month`); a request that would pass one waits (see `SPEND_CAP_ACTION`)",
        "none");

    /// <summary><c>SPEND_CAP_ACTION</c>.</summary>
    public static readonly Setting<bool> SpendCapAction = Setting.Choice(
        "SPEND_CAP_ACTION", false, "what a job whose next request would pass a spend cap does: `wait` (pending, its attempt refunded, until the cap's period ends) or `fail` (failed, naming the cap)", null,
        ("wait", false), ("fail", true));

    /// <summary><c>POLL_INTERVAL_MS</c> (or <c>FALLBACK_POLL_MS</c>).</summary>
    public static readonly Setting<TimeSpan> PollInterval = Setting.Whole(
        "POLL_INTERVAL_MS", 1000, 10, 3_600_000, "milliseconds", n => TimeSpan.FromMilliseconds(n),
        "polling when notifications are off or lost (30 s safety poll while they arrive)", "FALLBACK_POLL_MS");

    /// <summary><c>LISTEN_ENABLED</c> (or <c>ENABLE_LISTEN_NOTIFY</c>); null: decided at start.</summary>
    public static readonly Setting<bool?> ListenEnabled = Setting.Switch(
        "LISTEN_ENABLED", "decided at start",
        "wake on notifications; on unless `DATABASE_URL` is a transaction-mode pooler and no unpooled URL is set (then polling); set it to override",
        "ENABLE_LISTEN_NOTIFY");

    /// <summary><c>DATABASE_PREPARE_STATEMENTS</c>; null: decided at start.</summary>
    public static readonly Setting<bool?> PrepareStatements = Setting.Switch(
        "DATABASE_PREPARE_STATEMENTS", "decided at start",
        "the service's statements are prepared per connection after a second use (less database CPU per job); on unless `DATABASE_URL` is a transaction-mode pooler that does not keep prepared statements (PgBouncer before 1.21); set it to override");

    /// <summary><c>JOB_LEASE_SECONDS</c>.</summary>
    public static readonly Setting<TimeSpan> JobLease = Setting.Seconds(
        "JOB_LEASE_SECONDS", 60, 3, 3600, "a claim's lease, renewed while the job runs");

    /// <summary><c>JOB_TIMEOUT_SECONDS</c>.</summary>
    public static readonly Setting<TimeSpan> JobTimeout = Setting.Seconds(
        "JOB_TIMEOUT_SECONDS", 600, 1, 86_400, "one attempt at most");

    /// <summary><c>PENDING_EXPIRY_MINUTES</c>.</summary>
    public static readonly Setting<TimeSpan> PendingExpiry = Setting.Whole(
        "PENDING_EXPIRY_MINUTES", 0, 0, 525_600, "minutes", n => TimeSpan.FromMinutes(n),
        "a pending job never claimed fails with `expired after N minutes` once created that long ago (checked once a minute per silo); 0 never");

    /// <summary><c>AUDIT_RETENTION_DAYS</c>.</summary>
    public static readonly Setting<TimeSpan> AuditRetention = Setting.Whole(
        "AUDIT_RETENTION_DAYS", 30, 0, 36_500, "days", n => TimeSpan.FromDays(n),
        "rows of the audit table `generation_job_event` older than this are deleted (once an hour per silo); 0 keeps them");

    /// <summary><c>BUDGET_CLOCK_OFFSET_SECONDS</c>.</summary>
    public static readonly Setting<TimeSpan> ClockOffset = Setting.Whole(
        "BUDGET_CLOCK_OFFSET_SECONDS", 0, -31_536_000, 31_536_000, "seconds", n => TimeSpan.FromSeconds(n),
        "shifts this silo's Gemini budget clock, not Orleans' (tests of clock skew between silos and of the Pacific day's end); leave unset in production");

    /// <summary><c>SHUTDOWN_TIMEOUT_SECONDS</c>.</summary>
    public static readonly Setting<TimeSpan> ShutdownTimeout = Setting.Seconds(
        "SHUTDOWN_TIMEOUT_SECONDS", 25, 0, 3600, "how long in-flight jobs may finish on SIGTERM");

    /// <summary><c>RETRY_BASE_SECONDS</c>.</summary>
    public static readonly Setting<TimeSpan> RetryBase = Setting.Seconds(
        "RETRY_BASE_SECONDS", 5, 0, 3600, "the first retry's delay, doubled on each attempt (the backoff above)");

    /// <summary><c>RETRY_MAX_SECONDS</c>.</summary>
    public static readonly Setting<TimeSpan> RetryMax = Setting.Seconds(
        "RETRY_MAX_SECONDS", 300, 0, 86_400, "the longest retry delay");

    /// <summary><c>IMAGE_FETCH_TIMEOUT_SECONDS</c>.</summary>
    public static readonly Setting<TimeSpan> ImageFetchTimeout = Setting.Seconds(
        "IMAGE_FETCH_TIMEOUT_SECONDS", 30, 0.1, 600, "one reference image download");

    /// <summary><c>IMAGE_URL_ALLOW_PRIVATE</c>.</summary>
    public static readonly Setting<bool> ImageUrlAllowPrivate = Setting.Switch(
        "IMAGE_URL_ALLOW_PRIVATE", false, "allow private/loopback reference URLs (local runs and tests only)");

    /// <summary><c>NEXT_PUBLIC_APP_URL</c>.</summary>
    public static readonly Setting<Uri?> AppUrl = Setting.Parsed<Uri?>(
        "NEXT_PUBLIC_APP_URL", null, HttpUrl, "the web app's absolute http(s) URL",
        "the web app's URL: reference images given as app paths (`/api/...`) are fetched from it");

    /// <summary><c>PORT</c>.</summary>
    public static readonly Setting<int> Port = Setting.Whole(
        "PORT", 8080, 1, 65535, "HTTP: `/health`, `/status`, `/cluster`, `/dashboard`, `/dashboard/jobs`, `/files`");

    /// <summary><c>SILO_PORT</c>.</summary>
    public static readonly Setting<int> SiloPort = Setting.Whole(
        "SILO_PORT", 11111, 1, 65535, "silo-to-silo port (bound to `ORLEANS_ADVERTISED_IP` only)");

    /// <summary><c>GATEWAY_PORT</c>; 0: no gateway.</summary>
    public static readonly Setting<int> GatewayPort = Setting.Whole(
        "GATEWAY_PORT", 0, 0, 65535, "the Orleans client gateway, unused: off (0) unless set, then on loopback only");

    /// <summary><c>ORLEANS_CLUSTER_ID</c>.</summary>
    public static readonly Setting<string?> ClusterId = Setting.Text(
        "ORLEANS_CLUSTER_ID", "generation-worker", "a name", "silos with the same id and database form one cluster");

    /// <summary><c>WORKER_ID</c>.</summary>
    public static readonly Setting<string?> WorkerId = Setting.Text(
        "WORKER_ID", null, "a name", "a name for this replica, on every log line (`WorkerId`); the cluster and `locked_by` still name the silo by its address");

    /// <summary><c>ORLEANS_ADVERTISED_IP</c>; null: detected at start.</summary>
    public static readonly Setting<IPAddress?> AdvertisedIp = Setting.Parsed<IPAddress?>(
        "ORLEANS_ADVERTISED_IP", null, Address, "an IPv4 or IPv6 address",
        "the address peers reach this silo at: an IPv6 unique-local address (Railway's private network) if there is one, else a private IPv4 address",
        "detected");

    /// <summary><c>DASHBOARD_USERNAME</c>.</summary>
    public static readonly Setting<string?> DashboardUsername = Setting.Text(
        "DASHBOARD_USERNAME", null, "a user name",
        "the Orleans Dashboard at `/dashboard`, `/status` and `/cluster`, behind HTTP Basic auth; 404 unless both it and `DASHBOARD_PASSWORD` are set");

    /// <summary><c>DASHBOARD_PASSWORD</c> (never logged).</summary>
    public static readonly Setting<string?> DashboardPassword = Setting.Text(
        "DASHBOARD_PASSWORD", null, $"a password of {DashboardPasswordMinLength} characters or more", "the dashboard's password, never logged");

    /// <summary><c>LOG_FORMAT</c>: <c>json</c> or <c>text</c>; null: JSON unless stdout is a terminal.</summary>
    public static readonly Setting<string?> LogFormat = Setting.Choice<string?>(
        "LOG_FORMAT", null, "JSON lines carry `JobId` and `Attempt` on every job line", "`json` off a terminal, `text` on one",
        ("json", "json"), ("text", "text"));

    /// <summary><c>OTEL_EXPORTER_OTLP_ENDPOINT</c>.</summary>
    public static readonly Setting<Uri?> OtlpEndpoint = Setting.Parsed<Uri?>(
        "OTEL_EXPORTER_OTLP_ENDPOINT", null, HttpUrl, "an http(s) URL of an OTLP collector",
        "exports metrics and traces over OTLP when set (other `OTEL_*` variables apply)");

    /// <summary>Every setting, in the order declared above (the README's order).</summary>
    public static IReadOnlyList<Setting> All { get; } = typeof(Settings)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(field => field.FieldType.IsAssignableTo(typeof(Setting)))
        .OrderBy(field => field.MetadataToken)
        .Select(field => (Setting)field.GetValue(null)!)
        .ToList();

    private static Uri HttpUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri
            : throw new FormatException();

    private static Uri HttpsUrl(string value) => HttpUrl(value) is { Scheme: "https" } uri ? uri : throw new FormatException();

    private static string PublicBaseUrl(string value) => HttpUrl(value).ToString().TrimEnd('/');

    private static string Model(string value) =>
        value.Length <= 100 && char.IsAsciiLetterOrDigit(value[0]) && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_')
            ? value
            : throw new FormatException();

    private static string ExistingDirectory(string value) => Directory.Exists(value) ? Path.GetFullPath(value) : throw new FormatException();

    private static string HostLabel(string value) =>
        value.Length <= 63 && char.IsAsciiLetterOrDigit(value[0]) && char.IsAsciiLetterOrDigit(value[^1])
        && value.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')
            ? value
            : throw new FormatException();

    private static IPAddress Address(string value) => IPAddress.TryParse(value, out var address) ? address : throw new FormatException();
}
