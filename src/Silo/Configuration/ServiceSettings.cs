using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using GenerationWorker.Grains.Configuration;
using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Postgres;
using GenerationWorker.Grains.Quota;
using GenerationWorker.Grains.Storage;

namespace GenerationWorker.Silo.Configuration;

/// <summary>Configuration that cannot start the service; the message names every variable to fix.</summary>
public sealed class ConfigurationException(IReadOnlyList<string> errors)
    : Exception("Invalid configuration:\n  " + string.Join("\n  ", errors))
{
    /// <summary>One line per problem, each naming its environment variable.</summary>
    public IReadOnlyList<string> Errors { get; } = errors;
}

/// <summary>The silo's own settings: where it listens and how it joins the cluster (each described in <see cref="Settings"/>).</summary>
public sealed class SiloSettings
{
    /// <summary><see cref="Settings.Port"/>: HTTP port of /health, the dashboard and local files.</summary>
    public int HttpPort { get; set; } = Settings.Port.Default;

    /// <summary><see cref="Settings.SiloPort"/>: silo-to-silo port.</summary>
    public int SiloPort { get; set; } = Settings.SiloPort.Default;

    /// <summary>
    /// <see cref="Settings.GatewayPort"/>: the Orleans client gateway's port, on loopback only (no client of the
    /// service uses it); 0: no gateway.
    /// </summary>
    public int GatewayPort { get; set; } = Settings.GatewayPort.Default;

    /// <summary><see cref="Settings.ClusterId"/>: silos with the same id and database form one cluster.</summary>
    public string ClusterId { get; set; } = Settings.ClusterId.Default!;

    /// <summary><see cref="Settings.AdvertisedIp"/>: the address other silos reach this one at (loopback until read).</summary>
    public IPAddress AdvertisedIp { get; set; } = IPAddress.Loopback;

    /// <summary>
    /// <see cref="Settings.WorkerId"/>: a name for this replica on its log lines (the <c>WorkerId</c> scope). Only a
    /// display name: the silo's identity in the cluster and in <c>locked_by</c> stays its address.
    /// </summary>
    public string? WorkerId { get; set; }

    /// <summary><see cref="Settings.DashboardUsername"/>; the dashboard is off unless both it and the password are set.</summary>
    public string? DashboardUsername { get; set; }

    /// <summary><see cref="Settings.DashboardPassword"/> (never logged).</summary>
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

    /// <summary>
    /// Reads only <c>DATABASE_URL</c> and <c>LOG_FORMAT</c> (for the operator commands); other settings keep their defaults.
    /// </summary>
    public static ServiceSettings LoadDatabaseOnly(Func<string, string?> env)
    {
        var read = new Reader(env);
        var database = ReadDatabase(read);
        var logFormat = ReadLogFormat(read);
        read.ThrowIfAny();
        return new ServiceSettings
        {
            ConnectionString = database.ConnectionString,
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
        var database = ReadDatabase(read);
        var silo = new SiloSettings
        {
            HttpPort = read.Value(Settings.Port),
            SiloPort = read.Value(Settings.SiloPort),
            GatewayPort = read.Value(Settings.GatewayPort),
            ClusterId = read.Value(Settings.ClusterId)!,
            AdvertisedIp = read.Value(Settings.AdvertisedIp) ?? DetectPrivateAddress(),
            DashboardUsername = read.Value(Settings.DashboardUsername),
            DashboardPassword = read.Value(Settings.DashboardPassword),
            WorkerId = read.Value(Settings.WorkerId),
        };
        if ((silo.DashboardUsername is null) != (silo.DashboardPassword is null))
        {
            var (missing, set) = silo.DashboardUsername is null ? (Settings.DashboardUsername, Settings.DashboardPassword) : (Settings.DashboardPassword, Settings.DashboardUsername);
            read.Error(missing.Name, $"must be set together with {set.Name} (or neither, to turn the dashboard off)");
        }

        if (silo.DashboardEnabled && silo.DashboardPassword is { Length: < Settings.DashboardPasswordMinLength })
        {
            read.Error(Settings.DashboardPassword.Name, $"must be at least {Settings.DashboardPasswordMinLength} characters long");
        }

        var worker = new WorkerOptions
        {
            Concurrency = read.Value(Settings.WorkerConcurrency),
            PollInterval = read.Value(Settings.PollInterval),
            LeaseDuration = read.Value(Settings.JobLease),
            JobTimeout = read.Value(Settings.JobTimeout),
            ShutdownTimeout = read.Value(Settings.ShutdownTimeout),
            RetryBaseDelay = read.Value(Settings.RetryBase),
            RetryMaxDelay = read.Value(Settings.RetryMax),
            ImageUrlAllowPrivate = read.Value(Settings.ImageUrlAllowPrivate),
            ImageFetchTimeout = read.Value(Settings.ImageFetchTimeout),
            ImageMemoryBudgetBytes = read.Value(Settings.ImageMemoryBudget),
            AppUrl = read.Value(Settings.AppUrl),
            PendingExpiry = read.Value(Settings.PendingExpiry),
            AuditRetention = read.Value(Settings.AuditRetention),
            ClockOffset = read.Value(Settings.ClockOffset),
        };
        // Unset, these are decided at start from the connections (DatabaseRoles).
        worker.ListenEnabled = database.Listen ?? worker.ListenEnabled;
        worker.PrepareStatements = database.PrepareStatements ?? worker.PrepareStatements;
        var quota = new QuotaOptions
        {
            RequestsPerWindow = read.Value(Settings.MaxJobsPerMinute),
            Window = read.Value(Settings.QuotaWindow),
            Margin = read.Value(Settings.QuotaMargin),
            ModelBudgets = read.Value(Settings.ModelBudgets),
            ClientBudgets = read.Value(Settings.ClientBudgets),
            InteractivePriority = read.Value(Settings.InteractivePriority),
            InteractiveReservePercent = read.Value(Settings.InteractiveReservePercent),
            BurstPercent = read.Value(Settings.QuotaBurstPercent),
            SpendCaps = read.Value(Settings.SpendCaps),
            FailOnSpendCap = read.Value(Settings.SpendCapAction),
        };
        var gemini = new GeminiOptions
        {
            ApiKey = read.Value(Settings.GeminiApiKey) ?? "",
            BaseUrl = read.Value(Settings.GeminiBaseUrl),
            Model = read.Value(Settings.GeminiModel),
            FallbackModel = read.Value(Settings.GeminiFallbackModel),
            HighResModel = read.Value(Settings.GeminiHighResModel),
            EditModel = read.Value(Settings.GeminiEditModel),
            VideoModel = read.Value(Settings.GeminiVideoModel),
            VideoPollInterval = read.Value(Settings.VideoPoll),
            VideoTimeout = read.Value(Settings.VideoTimeout),
            Timeout = read.Value(Settings.GeminiTimeout),
            ImageSpoolDirectory = read.Value(Settings.ImageSpoolDirectory),
            Prices = read.Value(Settings.GeminiPrices),
        };
        if (gemini.VideoPollInterval >= gemini.VideoTimeout)
        {
            read.Error(Settings.VideoPoll.Name, $"must be shorter than {Settings.VideoTimeout.Name}");
        }

        var storage = ReadStorage(read, silo.HttpPort);
        var logFormat = ReadLogFormat(read);
        var otlpEndpoint = read.Value(Settings.OtlpEndpoint);
        read.ThrowIfAny();
        return new ServiceSettings
        {
            ConnectionString = database.ConnectionString,
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

    private static DatabaseSettings ReadDatabase(Reader read) => new()
    {
        ConnectionString = read.Value(Settings.DatabaseUrl) ?? "",
        NamesPooler = read.Given(Settings.DatabaseUrl) is { } url && DatabaseUrl.NamesPooler(url),
        UnpooledConnectionString = read.Value(Settings.DatabaseUrlUnpooled),
        UnpooledVariable = read.Source(Settings.DatabaseUrlUnpooled),
        Listen = read.Value(Settings.ListenEnabled),
        PrepareStatements = read.Value(Settings.PrepareStatements),
    };

    private static LogFormat? ReadLogFormat(Reader read) => read.Value(Settings.LogFormat) switch
    {
        "json" => Configuration.LogFormat.Json,
        "text" => Configuration.LogFormat.Text,
        _ => null,
    };

    private static StorageOptions ReadStorage(Reader read, int httpPort)
    {
        var storage = new StorageOptions { Kind = read.Value(Settings.Storage) };
        // Public URLs use the CDN in front of the bucket when there is one.
        var cdnUrl = read.Value(Settings.CdnUrl);
        if (storage.Kind == StorageKind.Local)
        {
            storage.LocalDirectory = read.Value(Settings.LocalStorageDirectory)!;
            storage.PublicUrl = cdnUrl ?? read.Value(Settings.R2PublicUrl) ?? $"http://localhost:{httpPort}/files";
            return storage;
        }

        // Uploads are sent with unsigned payloads, which the S3 client allows over TLS only.
        storage.Endpoint = read.Value(Settings.R2Endpoint);
        storage.AccountId = read.Given(Settings.R2Endpoint) is null
            ? read.Required(Settings.R2AccountId, $" (or set {Settings.R2Endpoint.Name} for another S3-compatible store, or {Settings.Storage.Name}=local)")
            : read.Value(Settings.R2AccountId);
        storage.AccessKeyId = read.Required(Settings.R2AccessKeyId) ?? "";
        storage.SecretAccessKey = read.Required(Settings.R2SecretAccessKey) ?? "";
        storage.Bucket = read.Required(Settings.R2Bucket) ?? "";
        var r2PublicUrl = cdnUrl is null
            ? read.Required(Settings.R2PublicUrl, $" (or set {Settings.CdnUrl.Name})")
            : read.Value(Settings.R2PublicUrl);
        storage.PublicUrl = cdnUrl ?? r2PublicUrl ?? "";
        return storage;
    }

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

    /// <summary>Reads the settings of <see cref="Settings"/> and collects every problem, each naming its variable, before failing.</summary>
    private sealed class Reader(Func<string, string?> env)
    {
        private readonly List<string> _errors = [];
        private readonly Dictionary<Setting, string> _sources = [];

        public void Error(string name, string message) => _errors.Add($"{name} {message}");

        public void ThrowIfAny()
        {
            if (_errors.Count > 0)
            {
                throw new ConfigurationException(_errors);
            }
        }

        /// <summary>
        /// The variable <paramref name="setting"/> is read from: its name unless only one of its aliases is set. Two of
        /// its names set to different values is an error naming both (the values are never shown: one may be a key).
        /// </summary>
        public string Source(Setting setting)
        {
            if (_sources.TryGetValue(setting, out var source))
            {
                return source;
            }

            source = setting.Name;
            foreach (var alias in setting.Aliases)
            {
                var (value, aliased) = (Text(setting.Name), Text(alias));
                if (value is not null && aliased is not null && !setting.SameValue(value, aliased))
                {
                    Error(setting.Name, $"and {alias} are two names of the same setting and are set to different values: set one of them, or both to the same value");
                }

                if (value is null && aliased is not null && source == setting.Name)
                {
                    source = alias;
                }
            }

            _sources[setting] = source;
            return source;
        }

        /// <summary>The value set for <paramref name="setting"/>, trimmed, or null when it is unset or blank.</summary>
        public string? Given(Setting setting) => Text(Source(setting));

        /// <summary>The value of <paramref name="setting"/>, or its default when it is unset or refused (the refusal is an error).</summary>
        public T Value<T>(Setting<T> setting) => Read(setting, setting.Required, null);

        /// <summary>As <see cref="Value{T}"/>, and unset is an error; <paramref name="orElse"/> ends its message with the other ways.</summary>
        public T Required<T>(Setting<T> setting, string? orElse = null) => Read(setting, true, orElse);

        private T Read<T>(Setting<T> setting, bool required, string? orElse)
        {
            var name = Source(setting);
            if (Text(name) is not { } value)
            {
                if (required)
                {
                    orElse ??= setting.Aliases.Count == 0 ? "" : $" (or set {string.Join(" or ", setting.Aliases)})";
                    Error(name, $"is required: set it to {setting.Accepts}{orElse}");
                }

                return setting.Default;
            }

            if (!setting.TryRead(value, out var result, out var problem))
            {
                Error(name, problem!);
                return setting.Default;
            }

            return result;
        }

        private string? Text(string name) => env(name) is { } value && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;
    }
}
