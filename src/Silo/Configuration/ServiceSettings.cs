using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using GenerationWorker.Grains.Cost;
using GenerationWorker.Grains.Dispatch;
using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Quota;
using GenerationWorker.Grains.Storage;
using GenerationWorker.Silo.Hosting;

namespace GenerationWorker.Silo.Configuration;

/// <summary>Configuration that cannot start the service; the message names every variable to fix.</summary>
public sealed class ConfigurationException(IReadOnlyList<string> errors)
    : Exception("Invalid configuration:\n  " + string.Join("\n  ", errors))
{
    /// <summary>One line per problem, each naming its environment variable.</summary>
    public IReadOnlyList<string> Errors { get; } = errors;
}

/// <summary>The silo's own settings: where it listens and how it joins the cluster.</summary>
public sealed class SiloSettings
{
    /// <summary><c>PORT</c>: HTTP port of /health, the dashboard and local files; default 8080.</summary>
    public int HttpPort { get; set; } = 8080;

    /// <summary><c>SILO_PORT</c>: silo-to-silo port; default 11111.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>
    /// <c>GATEWAY_PORT</c>: the Orleans client gateway's port, on loopback only (no client of the service uses it);
    /// default 0: no gateway.
    /// </summary>
    public int GatewayPort { get; set; }

    /// <summary><c>ORLEANS_CLUSTER_ID</c>: silos with the same id and database form one cluster; default generation-worker.</summary>
    public string ClusterId { get; set; } = "generation-worker";

    /// <summary><c>ORLEANS_ADVERTISED_IP</c>: the address other silos reach this one at; default: detected.</summary>
    public IPAddress AdvertisedIp { get; set; } = IPAddress.Loopback;

    /// <summary>
    /// <c>WORKER_ID</c>: a name for this replica on its log lines (the <c>WorkerId</c> scope); default none. Only a
    /// display name: the silo's identity in the cluster and in <c>locked_by</c> stays its address.
    /// </summary>
    public string? WorkerId { get; set; }

    /// <summary><c>DASHBOARD_USERNAME</c>; the dashboard is off unless both it and the password are set.</summary>
    public string? DashboardUsername { get; set; }

    /// <summary><c>DASHBOARD_PASSWORD</c> (never logged).</summary>
    public string? DashboardPassword { get; set; }

    /// <summary>True when the dashboard is served (both credentials set).</summary>
    public bool DashboardEnabled => DashboardUsername is not null && DashboardPassword is not null;
}

/// <summary>Everything the service reads from its environment, validated at once.</summary>
public sealed class ServiceSettings
{
    /// <summary><c>DATABASE_URL</c>, as an Npgsql connection string.</summary>
    public required string ConnectionString { get; init; }

    /// <summary>The database connections: <c>DATABASE_URL</c>, <c>DATABASE_URL_UNPOOLED</c> and their use.</summary>
    public required DatabaseSettings Database { get; init; }

    /// <summary>Silo, ports and dashboard.</summary>
    public required SiloSettings Silo { get; init; }

    /// <summary>Claiming and running jobs.</summary>
    public required WorkerOptions Worker { get; init; }

    /// <summary>The cluster's Gemini budget.</summary>
    public required QuotaOptions Quota { get; init; }

    /// <summary>Gemini.</summary>
    public required GeminiOptions Gemini { get; init; }

    /// <summary>Image storage.</summary>
    public required StorageOptions Storage { get; init; }

    /// <summary>
    /// <c>LOG_FORMAT</c>: <c>json</c> (one JSON object a line) or <c>text</c>; default (null): JSON unless stdout is a
    /// terminal.
    /// </summary>
    public LogFormat? LogFormat { get; init; }

    /// <summary>
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>: where metrics and traces are exported over OTLP; default (null): not exported.
    /// The exporter also reads the other standard <c>OTEL_*</c> variables (protocol, headers, service name).
    /// </summary>
    public Uri? OtlpEndpoint { get; init; }

    /// <summary>The shortest <c>DASHBOARD_PASSWORD</c> accepted: 12 characters.</summary>
    public const int MinDashboardPasswordLength = 12;

    /// <summary>
    /// Reads only <c>DATABASE_URL</c> and <c>LOG_FORMAT</c> (for the operator commands); other settings keep their defaults.
    /// </summary>
    public static ServiceSettings LoadDatabaseOnly(Func<string, string?> env)
    {
        var read = new Reader(env);
        var connectionString = read.Required("DATABASE_URL", DatabaseUrl.ToConnectionString, "a postgres:// URL or an Npgsql connection string");
        var database = ReadDatabase(read, connectionString);
        var logFormat = ReadLogFormat(read);
        read.ThrowIfAny();
        return new ServiceSettings
        {
            ConnectionString = connectionString!,
            Database = database,
            LogFormat = logFormat,
            Silo = new SiloSettings(),
            Worker = new WorkerOptions(),
            Quota = new QuotaOptions(),
            Gemini = new GeminiOptions(),
            Storage = new StorageOptions(),
        };
    }

    /// <summary>Reads and validates every setting; throws <see cref="ConfigurationException"/> listing all problems.</summary>
    public static ServiceSettings Load(Func<string, string?> env)
    {
        var read = new Reader(env);
        var connectionString = read.Required("DATABASE_URL", DatabaseUrl.ToConnectionString, "a postgres:// URL or an Npgsql connection string");
        var database = ReadDatabase(read, connectionString);
        var silo = new SiloSettings
        {
            HttpPort = read.Int("PORT", 8080, 1, 65535),
            SiloPort = read.Int("SILO_PORT", 11111, 1, 65535),
            GatewayPort = read.Int("GATEWAY_PORT", 0, 0, 65535),
            ClusterId = read.Text("ORLEANS_CLUSTER_ID") ?? "generation-worker",
            AdvertisedIp = read.Optional("ORLEANS_ADVERTISED_IP", IPAddress.Parse, "an IPv4 or IPv6 address") ?? DetectPrivateAddress(),
            DashboardUsername = read.Text("DASHBOARD_USERNAME"),
            DashboardPassword = read.Text("DASHBOARD_PASSWORD"),
            WorkerId = read.Text("WORKER_ID"),
        };
        if ((silo.DashboardUsername is null) != (silo.DashboardPassword is null))
        {
            read.Error(silo.DashboardUsername is null ? "DASHBOARD_USERNAME" : "DASHBOARD_PASSWORD",
                "must be set together with " + (silo.DashboardUsername is null ? "DASHBOARD_PASSWORD" : "DASHBOARD_USERNAME") + " (or neither, to turn the dashboard off)");
        }

        if (silo.DashboardEnabled && silo.DashboardPassword is { Length: < MinDashboardPasswordLength })
        {
            read.Error("DASHBOARD_PASSWORD", $"must be at least {MinDashboardPasswordLength} characters long");
        }

        var worker = new WorkerOptions
        {
            Concurrency = read.Int("WORKER_CONCURRENCY", 5, 1, 10_000),
            PollInterval = TimeSpan.FromMilliseconds(read.Int(read.Either("POLL_INTERVAL_MS", "FALLBACK_POLL_MS"), 1000, 10, 3_600_000)),
            ListenEnabled = database.Listen ?? true,
            PrepareStatements = database.PrepareStatements ?? true,
            LeaseDuration = read.Seconds("JOB_LEASE_SECONDS", 60, 3, 3600),
            JobTimeout = read.Seconds("JOB_TIMEOUT_SECONDS", 600, 1, 86_400),
            ShutdownTimeout = read.Seconds("SHUTDOWN_TIMEOUT_SECONDS", 25, 0, 3600),
            RetryBaseDelay = read.Seconds("RETRY_BASE_SECONDS", 5, 0, 3600),
            RetryMaxDelay = read.Seconds("RETRY_MAX_SECONDS", 300, 0, 86_400),
            ImageUrlAllowPrivate = read.Bool("IMAGE_URL_ALLOW_PRIVATE", false),
            ImageFetchTimeout = read.Seconds("IMAGE_FETCH_TIMEOUT_SECONDS", 30, 0.1, 600),
            ImageMemoryBudgetBytes = (long)read.Int("IMAGE_MEMORY_BUDGET_MB", 512, 16, 1_000_000) << 20,
            AppUrl = read.Optional("NEXT_PUBLIC_APP_URL", ParseHttpUrl, "the web app's absolute http(s) URL"),
            PendingExpiry = TimeSpan.FromMinutes(read.Int("PENDING_EXPIRY_MINUTES", 0, 0, 525_600)),
            AuditRetention = TimeSpan.FromDays(read.Int("AUDIT_RETENTION_DAYS", 30, 0, 36_500)),
            ClockOffset = TimeSpan.FromSeconds(read.Int("CLOCK_OFFSET_SECONDS", 0, -31_536_000, 31_536_000)),
        };
        var quota = new QuotaOptions
        {
            RequestsPerWindow = read.Int("MAX_JOBS_PER_MINUTE", 60, 0, 10_000_000),
            Window = read.Seconds("QUOTA_WINDOW_SECONDS", 60, 1, 86_400),
            ModelBudgets = read.Optional("GEMINI_MODEL_BUDGETS", BudgetSettings.ParseModelBudgets, "model=N/Ws|N/day[,...] entries separated by ;")
                ?? new Dictionary<string, IReadOnlyList<BudgetLimit>>(StringComparer.Ordinal),
            ClientBudgets = read.Optional("CLIENT_BUDGETS", BudgetSettings.ParseClientBudgets, "client=weight:W|N/Ws|N/day[,...] entries separated by ;")
                ?? new Dictionary<string, ClientBudget>(StringComparer.Ordinal),
            InteractivePriority = read.Int("INTERACTIVE_PRIORITY", 50, int.MinValue, int.MaxValue),
            InteractiveReservePercent = read.Int("INTERACTIVE_RESERVE_PERCENT", 10, 0, 50),
            BurstPercent = read.Int("QUOTA_BURST_PERCENT", 10, 1, 100),
            SpendCaps = read.Optional("SPEND_CAPS", SpendCap.ParseAll, "global|client|*=dollars/day|/month entries separated by ;") ?? [],
            FailOnSpendCap = read.Choice("SPEND_CAP_ACTION", value => value.ToLowerInvariant() switch
            {
                "wait" => false,
                "fail" => true,
                _ => throw new FormatException(),
            }, "wait or fail") ?? false,
        };
        if (read.Text("QUOTA_MARGIN_MS") is not null)
        {
            quota.Margin = TimeSpan.FromMilliseconds(read.Int("QUOTA_MARGIN_MS", 250, 0, 60_000));
        }
        if (quota.RequestsPerWindow is > 0 and < 8)
        {
            read.Error("MAX_JOBS_PER_MINUTE", "must be 0 (no budget) or at least 8, so that a job of 8 variants fits in one window");
        }

        if (quota.ModelBudgets.FirstOrDefault(m => m.Value.Any(l => l.Requests < 8)) is { Key: { } tooSmall })
        {
            read.Error("GEMINI_MODEL_BUDGETS", $"gives {tooSmall} a limit under 8 requests: a job of 8 variants must fit in it");
        }

        var gemini = new GeminiOptions
        {
            ApiKey = read.Required(read.Either("GEMINI_API_KEY", "GOOGLE_AI_STUDIO_API_KEY"), key => key, "the Gemini API key (or set GOOGLE_AI_STUDIO_API_KEY)") ?? "",
            BaseUrl = read.Optional("GEMINI_BASE_URL", ParseHttpUrl, "an http(s) URL") ?? new Uri("https://generativelanguage.googleapis.com"),
            Model = read.Optional("GEMINI_MODEL", ParseModelId, ModelIdExpected) ?? "gemini-2.5-flash-image",
            FallbackModel = read.Optional("GEMINI_FALLBACK_MODEL", ParseModelId, ModelIdExpected) ?? "gemini-2.5-flash-image",
            HighResModel = read.Optional("GEMINI_HIGH_RES_MODEL", ParseModelId, ModelIdExpected) ?? "gemini-3-pro-image",
            EditModel = read.Optional("GEMINI_EDIT_MODEL", ParseModelId, ModelIdExpected) ?? "gemini-3-pro-image",
            VideoModel = read.Optional("GEMINI_VIDEO_MODEL", ParseModelId, ModelIdExpected) ?? "veo-3.1-generate-preview",
            VideoPollInterval = read.Seconds("VIDEO_POLL_SECONDS", 10, 1, 600),
            VideoTimeout = TimeSpan.FromMinutes(read.Int("VIDEO_TIMEOUT_MINUTES", 30, 1, 1440)),
            Timeout = read.Seconds("GEMINI_TIMEOUT_SECONDS", 300, 1, 3600),
            ImageSpoolDirectory = read.Optional("IMAGE_SPOOL_DIR", ParseExistingDirectory, "an existing directory"),
            Prices = read.Optional("GEMINI_PRICES", PriceTable.Parse, "a JSON object of model prices or the path of a file holding one") ?? PriceTable.Defaults,
        };
        if (gemini.VideoPollInterval >= gemini.VideoTimeout)
        {
            read.Error("VIDEO_POLL_SECONDS", "must be shorter than VIDEO_TIMEOUT_MINUTES");
        }

        var storage = ReadStorage(read, silo.HttpPort);
        var logFormat = ReadLogFormat(read);
        var otlpEndpoint = read.Optional("OTEL_EXPORTER_OTLP_ENDPOINT", ParseHttpUrl, "an http(s) URL of an OTLP collector");
        read.ThrowIfAny();
        return new ServiceSettings
        {
            ConnectionString = connectionString!,
            Database = database,
            LogFormat = logFormat,
            OtlpEndpoint = otlpEndpoint,
            Silo = silo,
            Worker = worker,
            Quota = quota,
            Gemini = gemini,
            Storage = storage,
        };
    }

    private static DatabaseSettings ReadDatabase(Reader read, string? connectionString)
    {
        const string Expected = "a postgres:// URL or an Npgsql connection string of the direct (unpooled) database";
        var unpooledVariable = read.Either("DATABASE_URL_UNPOOLED", "DIRECT_URL");
        return new DatabaseSettings
        {
            ConnectionString = connectionString ?? "",
            NamesPooler = read.Text("DATABASE_URL") is { } url && DatabaseUrl.NamesPooler(url),
            UnpooledConnectionString = read.Optional(unpooledVariable, DatabaseUrl.ToConnectionString, Expected),
            UnpooledVariable = unpooledVariable,
            Listen = read.OptionalBool(read.Either("LISTEN_ENABLED", "ENABLE_LISTEN_NOTIFY", StringComparer.OrdinalIgnoreCase)),
            PrepareStatements = read.OptionalBool("DATABASE_PREPARE_STATEMENTS"),
        };
    }

    private static LogFormat? ReadLogFormat(Reader read) => read.Choice("LOG_FORMAT", value => value.ToLowerInvariant() switch
    {
        "json" => Hosting.LogFormat.Json,
        "text" => Hosting.LogFormat.Text,
        _ => throw new FormatException(),
    }, "json or text");

    private static StorageOptions ReadStorage(Reader read, int httpPort)
    {
        var kind = read.Choice("STORAGE", value => value.ToLowerInvariant() switch
        {
            "r2" or "s3" => StorageKind.R2,
            "local" => StorageKind.Local,
            _ => throw new FormatException(),
        }, "r2 or local") ?? StorageKind.R2;
        var storage = new StorageOptions { Kind = kind };
        // Public URLs use the CDN in front of the bucket when there is one.
        var cdnUrl = read.Optional("CDN_URL", ParsePublicBaseUrl, "an http(s) URL");
        if (kind == StorageKind.Local)
        {
            storage.LocalDirectory = read.Text("LOCAL_STORAGE_DIR") ?? ".local/storage";
            var localPublicUrl = read.Optional("R2_PUBLIC_URL", ParsePublicBaseUrl, "an http(s) URL");
            storage.PublicUrl = cdnUrl ?? localPublicUrl ?? $"http://localhost:{httpPort}/files";
            return storage;
        }

        // Uploads are sent with unsigned payloads, which the S3 client allows over TLS only.
        storage.Endpoint = read.Optional("R2_ENDPOINT", ParseHttpsUrl, "an https URL (uploads are sent unsigned, which needs TLS)");
        storage.AccountId = read.Optional("R2_ACCOUNT_ID", ParseHostLabel, "the Cloudflare account id (letters, digits and '-', as in https://<id>.r2.cloudflarestorage.com)");
        if (read.Text("R2_ENDPOINT") is null && read.Text("R2_ACCOUNT_ID") is null)
        {
            read.Error("R2_ACCOUNT_ID", "is required (or set R2_ENDPOINT for another S3-compatible store, or STORAGE=local)");
        }

        storage.AccessKeyId = read.Required("R2_ACCESS_KEY_ID", v => v, "the R2 access key id") ?? "";
        storage.SecretAccessKey = read.Required("R2_SECRET_ACCESS_KEY", v => v, "the R2 secret access key") ?? "";
        storage.Bucket = read.Required("R2_BUCKET", v => v, "the bucket name") ?? "";
        var r2PublicUrl = cdnUrl is null
            ? read.Required("R2_PUBLIC_URL", ParsePublicBaseUrl, "the bucket's public http(s) URL (or set CDN_URL)")
            : read.Optional("R2_PUBLIC_URL", ParsePublicBaseUrl, "the bucket's public http(s) URL");
        storage.PublicUrl = cdnUrl ?? r2PublicUrl ?? "";
        return storage;
    }

    private static string ParsePublicBaseUrl(string value) => ParseHttpUrl(value).ToString().TrimEnd('/');

    private const string ModelIdExpected = "a model id such as gemini-2.5-flash-image (letters, digits, '.', '-', '_')";

    private static string ParseModelId(string value) =>
        value.Length <= 100 && char.IsAsciiLetterOrDigit(value[0]) && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_')
            ? value
            : throw new FormatException();

    private static string ParseExistingDirectory(string value) =>
        Directory.Exists(value) ? Path.GetFullPath(value) : throw new FormatException();

    private static Uri ParseHttpsUrl(string value) =>
        ParseHttpUrl(value) is { Scheme: "https" } uri ? uri : throw new FormatException();

    private static string ParseHostLabel(string value) =>
        value.Length <= 63 && char.IsAsciiLetterOrDigit(value[0]) && char.IsAsciiLetterOrDigit(value[^1])
        && value.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')
            ? value
            : throw new FormatException();

    private static Uri ParseHttpUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri
            : throw new FormatException();

    /// <summary>
    /// This host's private address: an IPv6 unique-local address (Railway's private network) if there is one, else a
    /// private IPv4 address, else any other address of an interface that is up, else loopback.
    /// </summary>
    public static IPAddress DetectPrivateAddress()
    {
        var addresses = NetworkInterface.GetAllNetworkInterfaces()
            .Where(nic => nic.OperationalStatus == OperationalStatus.Up && nic.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(nic => nic.GetIPProperties().UnicastAddresses.Select(u => u.Address))
            .Where(address => !IPAddress.IsLoopback(address) && !address.IsIPv6LinkLocal)
            .ToList();
        return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetworkV6 && (a.GetAddressBytes()[0] & 0xFE) == 0xFC)
            ?? addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && IsPrivateV4(a))
            ?? addresses.FirstOrDefault()
            ?? IPAddress.Loopback;
    }

    private static bool IsPrivateV4(IPAddress address)
    {
        var b = address.GetAddressBytes();
        return b[0] == 10 || (b[0] == 172 && b[1] >= 16 && b[1] <= 31) || (b[0] == 192 && b[1] == 168) || (b[0] == 100 && b[1] >= 64 && b[1] <= 127);
    }

    /// <summary>Reads variables and collects every problem before failing.</summary>
    private sealed class Reader(Func<string, string?> env)
    {
        private readonly List<string> _errors = [];

        public void Error(string name, string message) => _errors.Add($"{name} {message}");

        public void ThrowIfAny()
        {
            if (_errors.Count > 0)
            {
                throw new ConfigurationException(_errors);
            }
        }

        public string? Text(string name) => env(name) is { } value && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

        /// <summary>
        /// Which of two names of one setting to read: <paramref name="name"/> unless only <paramref name="alias"/> is
        /// set. Both set to different values is an error naming both (the values are never shown: one may be a key).
        /// </summary>
        public string Either(string name, string alias, StringComparer? comparer = null)
        {
            var (value, aliased) = (Text(name), Text(alias));
            if (value is not null && aliased is not null && !(comparer ?? StringComparer.Ordinal).Equals(value, aliased))
            {
                Error(name, $"and {alias} are two names of the same setting and are set to different values: set one of them, or both to the same value");
            }

            return value is null && aliased is not null ? alias : name;
        }

        public T? Required<T>(string name, Func<string, T> parse, string expected)
            where T : class
        {
            if (Text(name) is null)
            {
                Error(name, $"is required: set it to {expected}");
                return null;
            }

            return Optional(name, parse, expected);
        }

        public T? Optional<T>(string name, Func<string, T> parse, string expected)
            where T : class
        {
            if (Text(name) is not { } value)
            {
                return null;
            }

            try
            {
                return parse(value);
            }
            catch (FormatException exception)
            {
                Error(name, string.IsNullOrEmpty(exception.Message) || exception.Message.StartsWith("One of the identified", StringComparison.Ordinal)
                    ? $"must be {expected}"
                    : exception.Message);
                return null;
            }
        }

        public TValue? Choice<TValue>(string name, Func<string, TValue> parse, string expected)
            where TValue : struct
        {
            if (Text(name) is not { } value)
            {
                return null;
            }

            try
            {
                return parse(value);
            }
            catch (FormatException)
            {
                Error(name, $"must be {expected} (got '{value}')");
                return null;
            }
        }

        public int Int(string name, int fallback, int min, int max)
        {
            if (Text(name) is not { } value)
            {
                return fallback;
            }

            if (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) || number < min || number > max)
            {
                Error(name, $"must be a whole number from {min} to {max} (got '{value}')");
                return fallback;
            }

            return number;
        }

        public TimeSpan Seconds(string name, double fallback, double min, double max)
        {
            if (Text(name) is not { } value)
            {
                return TimeSpan.FromSeconds(fallback);
            }

            if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || !double.IsFinite(number)
                || number < min || number > max)
            {
                Error(name, $"must be a number of seconds from {min} to {max} (got '{value}')");
                return TimeSpan.FromSeconds(fallback);
            }

            return TimeSpan.FromSeconds(number);
        }

        public bool Bool(string name, bool fallback) => OptionalBool(name) ?? fallback;

        public bool? OptionalBool(string name)
        {
            switch (Text(name)?.ToLowerInvariant())
            {
                case null:
                    return null;
                case "true" or "1" or "yes":
                    return true;
                case "false" or "0" or "no":
                    return false;
                default:
                    Error(name, $"must be true or false (got '{Text(name)}')");
                    return null;
            }
        }
    }
}
