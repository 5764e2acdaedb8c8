using GenerationWorker.Grains.Storage;
using GenerationWorker.Silo.Configuration;
using GenerationWorker.Silo.Hosting;

namespace GenerationWorker.Silo.Tests.Configuration;

public sealed class ServiceSettingsTests
{
    /// <summary>The required settings, each valid: what a test changes one variable of.</summary>
    internal static Dictionary<string, string?> Valid() => new()
    {
        ["DATABASE_URL"] = "postgres://u:p@db:5432/app",
        ["GEMINI_API_KEY"] = "key-123",
        ["R2_ACCOUNT_ID"] = "acc",
        ["R2_ACCESS_KEY_ID"] = "id",
        ["R2_SECRET_ACCESS_KEY"] = "secret",
        ["R2_BUCKET"] = "bucket",
        ["R2_PUBLIC_URL"] = "https://cdn.example.com/",
    };

    private static ServiceSettings Load(Dictionary<string, string?> env) => ServiceSettings.Load(name => env.GetValueOrDefault(name));

    [Fact]
    public void Defaults_MatchTheSeed()
    {
        var settings = Load(Valid());
        Assert.Equal(5, settings.Worker.Concurrency);
        Assert.Equal(60, settings.Quota.RequestsPerWindow);
        Assert.Equal(TimeSpan.FromSeconds(1), settings.Worker.PollInterval);
        Assert.Equal(8080, settings.Silo.HttpPort);
        Assert.Equal(11111, settings.Silo.SiloPort);
        Assert.Equal(0, settings.Silo.GatewayPort);
        Assert.Equal("generation-worker", settings.Silo.ClusterId);
        Assert.Equal("gemini-2.5-flash-image", settings.Gemini.Model);
        Assert.Equal(TimeSpan.FromSeconds(300), settings.Gemini.Timeout);
        Assert.Equal(new Uri("https://acc.r2.cloudflarestorage.com"), settings.Storage.ResolvedEndpoint);
        Assert.Equal("https://cdn.example.com", settings.Storage.PublicUrl);
        Assert.False(settings.Silo.DashboardEnabled);
        Assert.True(settings.Worker.PrepareStatements);
    }

    [Fact]
    public void PreparedStatements_CanBeTurnedOffForAPooler()
    {
        var env = Valid();
        env["DATABASE_PREPARE_STATEMENTS"] = "false";
        Assert.False(Load(env).Worker.PrepareStatements);
    }

    [Theory]
    [InlineData("DATABASE_URL")]
    [InlineData("GEMINI_API_KEY")]
    [InlineData("R2_ACCESS_KEY_ID")]
    [InlineData("R2_SECRET_ACCESS_KEY")]
    [InlineData("R2_BUCKET")]
    [InlineData("R2_PUBLIC_URL")]
    [InlineData("R2_ACCOUNT_ID")]
    public void MissingRequiredVariable_FailsNamingIt(string name)
    {
        var env = Valid();
        env.Remove(name);
        var error = Assert.Throws<ConfigurationException>(() => Load(env));
        Assert.Single(error.Errors);
        Assert.StartsWith(name + " ", error.Errors[0]);
    }

    [Theory]
    [InlineData("DATABASE_URL", "mysql://x")]
    [InlineData("WORKER_CONCURRENCY", "five")]
    [InlineData("WORKER_CONCURRENCY", "0")]
    [InlineData("MAX_JOBS_PER_MINUTE", "-1")]
    [InlineData("POLL_INTERVAL_MS", "1.5")]
    [InlineData("PORT", "70000")]
    [InlineData("SILO_PORT", "x")]
    [InlineData("GATEWAY_PORT", "-1")]
    [InlineData("ORLEANS_ADVERTISED_IP", "not-an-ip")]
    [InlineData("GEMINI_BASE_URL", "ftp://x")]
    [InlineData("GEMINI_TIMEOUT_SECONDS", "0")]
    [InlineData("QUOTA_WINDOW_SECONDS", "never")]
    [InlineData("JOB_LEASE_SECONDS", "1")]
    [InlineData("JOB_TIMEOUT_SECONDS", "-5")]
    [InlineData("SHUTDOWN_TIMEOUT_SECONDS", "soon")]
    [InlineData("LISTEN_ENABLED", "maybe")]
    [InlineData("DATABASE_PREPARE_STATEMENTS", "sometimes")]
    [InlineData("IMAGE_URL_ALLOW_PRIVATE", "2")]
    [InlineData("STORAGE", "ftp")]
    [InlineData("R2_ENDPOINT", "not a url")]
    [InlineData("R2_PUBLIC_URL", "cdn.example.com")]
    [InlineData("DASHBOARD_PASSWORD", "only-half")]
    [InlineData("LOG_FORMAT", "xml")]
    [InlineData("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317")]
    [InlineData("NEXT_PUBLIC_APP_URL", "app.example.com")]
    [InlineData("NEXT_PUBLIC_APP_URL", "/api")]
    [InlineData("PENDING_EXPIRY_MINUTES", "-1")]
    [InlineData("AUDIT_RETENTION_DAYS", "-1")]
    [InlineData("PENDING_EXPIRY_MINUTES", "half an hour")]
    [InlineData("CDN_URL", "cdn.example.com")]
    [InlineData("GEMINI_HIGH_RES_MODEL", "models/gemini 3")]
    [InlineData("GEMINI_EDIT_MODEL", "gemini-3-pro-image:generateContent")]
    [InlineData("GEMINI_FALLBACK_MODEL", "../x")]
    [InlineData("GEMINI_VIDEO_MODEL", "veo?x")]
    [InlineData("VIDEO_POLL_SECONDS", "0")]
    [InlineData("VIDEO_TIMEOUT_MINUTES", "0")]
    [InlineData("FALLBACK_POLL_MS", "often")]
    [InlineData("ENABLE_LISTEN_NOTIFY", "maybe")]
    [InlineData("R2_ENDPOINT", "http://127.0.0.1:9000")]
    [InlineData("R2_ACCOUNT_ID", "acc.evil.example/x")]
    [InlineData("R2_ACCOUNT_ID", "-acc")]
    [InlineData("JOB_LEASE_SECONDS", "NaN")]
    [InlineData("JOB_TIMEOUT_SECONDS", "Infinity")]
    [InlineData("RETRY_BASE_SECONDS", "NaN")]
    [InlineData("IMAGE_FETCH_TIMEOUT_SECONDS", "nan")]
    [InlineData("SHUTDOWN_TIMEOUT_SECONDS", "-Infinity")]
    [InlineData("GEMINI_PRICES", "{\"gemini-3-pro-image\": {\"image\": 0.1345678}}")]
    [InlineData("GEMINI_PRICES", "/no/such/prices.json")]
    public void MalformedVariable_FailsNamingIt(string name, string value)
    {
        var env = Valid();
        env[name] = value;
        var error = Assert.Throws<ConfigurationException>(() => Load(env));
        Assert.Contains(error.Errors, e => e.Contains(name, StringComparison.Ordinal));
        Assert.Single(error.Errors);
    }

    [Fact]
    public void NewSettings_HaveTheirDefaults()
    {
        var settings = Load(Valid());
        Assert.Equal("gemini-2.5-flash-image", settings.Gemini.FallbackModel);
        Assert.Equal("gemini-3-pro-image", settings.Gemini.HighResModel);
        Assert.Equal("gemini-3-pro-image", settings.Gemini.EditModel);
        Assert.Equal("veo-3.1-generate-preview", settings.Gemini.VideoModel);
        Assert.Equal(TimeSpan.FromSeconds(10), settings.Gemini.VideoPollInterval);
        Assert.Equal(TimeSpan.FromMinutes(30), settings.Gemini.VideoTimeout);
        Assert.Null(settings.Worker.AppUrl);
        Assert.Equal(TimeSpan.Zero, settings.Worker.PendingExpiry);
        Assert.Null(settings.Silo.WorkerId);
        Assert.Same(GenerationWorker.Grains.Cost.PriceTable.Defaults, settings.Gemini.Prices);
    }

    [Fact]
    public void GeminiPrices_ReplaceTheDefaultsModelByModel()
    {
        var env = Valid();
        env["GEMINI_PRICES"] = """{"gemini-2.5-flash-image": {"image": 0.05}}""";

        var prices = Load(env).Gemini.Prices;

        Assert.Equal(50_000, prices.For("gemini-2.5-flash-image", out _).ImageMicros);
        Assert.Equal(134_000, prices.For("gemini-3-pro-image", out _).ImageMicros);
    }

    [Fact]
    public void NewSettings_AreRead()
    {
        var env = Valid();
        env["GEMINI_HIGH_RES_MODEL"] = "gemini-3-pro-image-v2";
        env["GEMINI_EDIT_MODEL"] = "gemini-3.1-pro-image";
        env["GEMINI_FALLBACK_MODEL"] = "gemini-2.5-flash-image-001";
        env["GEMINI_VIDEO_MODEL"] = "veo-3.1-generate-001";
        env["VIDEO_POLL_SECONDS"] = "5";
        env["VIDEO_TIMEOUT_MINUTES"] = "45";
        env["NEXT_PUBLIC_APP_URL"] = "https://app.example.com";
        env["PENDING_EXPIRY_MINUTES"] = "30";
        env["WORKER_ID"] = "worker-eu-1";

        var settings = Load(env);

        Assert.Equal(
            ("gemini-3-pro-image-v2", "gemini-3.1-pro-image", "gemini-2.5-flash-image-001", "veo-3.1-generate-001"),
            (settings.Gemini.HighResModel, settings.Gemini.EditModel, settings.Gemini.FallbackModel, settings.Gemini.VideoModel));
        Assert.Equal(TimeSpan.FromSeconds(5), settings.Gemini.VideoPollInterval);
        Assert.Equal(TimeSpan.FromMinutes(45), settings.Gemini.VideoTimeout);
        Assert.Equal(new Uri("https://app.example.com"), settings.Worker.AppUrl);
        Assert.Equal(TimeSpan.FromMinutes(30), settings.Worker.PendingExpiry);
        Assert.Equal("worker-eu-1", settings.Silo.WorkerId);
    }

    [Fact]
    public void VideoPoll_MustBeShorterThanTheVideoTimeout()
    {
        var env = Valid();
        env["VIDEO_POLL_SECONDS"] = "120";
        env["VIDEO_TIMEOUT_MINUTES"] = "2";
        var error = Assert.Throws<ConfigurationException>(() => Load(env));
        Assert.StartsWith("VIDEO_POLL_SECONDS ", Assert.Single(error.Errors));
    }

    public static TheoryData<string, string, string, Func<ServiceSettings, object>> AliasPairs() => new()
    {
        { "GEMINI_API_KEY", "GOOGLE_AI_STUDIO_API_KEY", "studio-key-1", s => s.Gemini.ApiKey },
        { "POLL_INTERVAL_MS", "FALLBACK_POLL_MS", "2500", s => s.Worker.PollInterval.TotalMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        { "LISTEN_ENABLED", "ENABLE_LISTEN_NOTIFY", "false", s => s.Worker.ListenEnabled ? "true" : "false" },
    };

    [Theory]
    [MemberData(nameof(AliasPairs))]
    public void TheAppsName_AloneSetsTheSetting(string name, string alias, string value, Func<ServiceSettings, object> read)
    {
        var env = Valid();
        env.Remove(name);
        env[alias] = value;
        Assert.Equal(value, read(Load(env)));
    }

    [Theory]
    [MemberData(nameof(AliasPairs))]
    public void BothNames_WithTheSameValue_AreAccepted(string name, string alias, string value, Func<ServiceSettings, object> read)
    {
        var env = Valid();
        env[name] = value;
        env[alias] = value;
        Assert.Equal(value, read(Load(env)));
    }

    [Theory]
    [MemberData(nameof(AliasPairs))]
    public void BothNames_WithDifferentValues_FailNamingBoth_WithoutShowingTheValues(
        string name, string alias, string value, Func<ServiceSettings, object> read)
    {
        _ = read;
        var env = Valid();
        env[name] = value;
        env[alias] = value == "false" ? "true" : value + "9";

        var error = Assert.Throws<ConfigurationException>(() => Load(env));

        var line = Assert.Single(error.Errors);
        Assert.StartsWith(name + " and " + alias + " ", line);
        Assert.DoesNotContain(value, line.Replace(name, "", StringComparison.Ordinal).Replace(alias, "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void ListenAlias_ComparesTrueAndTRUEAsEqual()
    {
        var env = Valid();
        env["LISTEN_ENABLED"] = "TRUE";
        env["ENABLE_LISTEN_NOTIFY"] = "true";
        Assert.True(Load(env).Worker.ListenEnabled);
    }

    [Fact]
    public void MissingApiKey_NamesBothWaysToSetIt()
    {
        var env = Valid();
        env.Remove("GEMINI_API_KEY");
        var error = Assert.Throws<ConfigurationException>(() => Load(env));
        Assert.Contains("GOOGLE_AI_STUDIO_API_KEY", Assert.Single(error.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void CdnUrl_WinsOverR2PublicUrl_AndMakesItOptional()
    {
        var env = Valid();
        env["CDN_URL"] = "https://images.example.com/";
        Assert.Equal("https://images.example.com", Load(env).Storage.PublicUrl);

        env.Remove("R2_PUBLIC_URL");
        Assert.Equal("https://images.example.com", Load(env).Storage.PublicUrl);
    }

    [Fact]
    public void CdnUrl_AppliesToLocalStorageToo()
    {
        var env = new Dictionary<string, string?>
        {
            ["DATABASE_URL"] = "Host=h;Database=d",
            ["GEMINI_API_KEY"] = "k",
            ["STORAGE"] = "local",
            ["R2_PUBLIC_URL"] = "http://localhost:8080/files",
            ["CDN_URL"] = "https://cdn.example.com/files",
        };
        Assert.Equal("https://cdn.example.com/files", Load(env).Storage.PublicUrl);
    }

    [Fact]
    public void Errors_NeverEchoSecrets()
    {
        var env = Valid();
        env["DATABASE_URL"] = "postgres://u:hunter2@h/db?sslmode=bogus";
        env["DASHBOARD_PASSWORD"] = "dash-secret-long";
        var error = Assert.Throws<ConfigurationException>(() => Load(env));
        Assert.DoesNotContain("hunter2", error.Message);
        Assert.DoesNotContain("dash-secret", error.Message);
        Assert.DoesNotContain("key-123", error.Message);
    }

    [Fact]
    public void LocalStorage_NeedsNoR2Variables()
    {
        var env = new Dictionary<string, string?>
        {
            ["DATABASE_URL"] = "Host=h;Database=d",
            ["GEMINI_API_KEY"] = "k",
            ["STORAGE"] = "local",
            ["PORT"] = "9000",
        };
        var settings = Load(env);
        Assert.Equal(StorageKind.Local, settings.Storage.Kind);
        Assert.Equal("http://localhost:9000/files", settings.Storage.PublicUrl);
    }

    [Fact]
    public void R2Endpoint_ReplacesTheAccountId()
    {
        var env = Valid();
        env.Remove("R2_ACCOUNT_ID");
        env["R2_ENDPOINT"] = "https://127.0.0.1:9443";
        Assert.Equal(new Uri("https://127.0.0.1:9443"), Load(env).Storage.ResolvedEndpoint);
    }

    [Fact]
    public void AdvertisedIp_AcceptsIPv6()
    {
        var env = Valid();
        env["ORLEANS_ADVERTISED_IP"] = "fd12::7";
        Assert.Equal(System.Net.Sockets.AddressFamily.InterNetworkV6, Load(env).Silo.AdvertisedIp.AddressFamily);
    }

    [Fact]
    public void EveryProblem_IsReportedAtOnce()
    {
        var error = Assert.Throws<ConfigurationException>(() => Load(new Dictionary<string, string?> { ["PORT"] = "x" }));
        Assert.Contains(error.Errors, e => e.StartsWith("PORT ", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.StartsWith("DATABASE_URL ", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.StartsWith("GEMINI_API_KEY ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("json", LogFormat.Json)]
    [InlineData("JSON", LogFormat.Json)]
    [InlineData("text", LogFormat.Text)]
    public void LogFormat_IsReadFromLOG_FORMAT(string? value, LogFormat? expected)
    {
        var env = Valid();
        env["LOG_FORMAT"] = value;
        Assert.Equal(expected, Load(env).LogFormat);
        Assert.Equal(expected, ServiceSettings.LoadDatabaseOnly(name => env.GetValueOrDefault(name)).LogFormat);
    }

    [Fact]
    public void LoadDatabaseOnly_RejectsABadLogFormatNamingIt()
    {
        var env = new Dictionary<string, string?> { ["DATABASE_URL"] = "Host=h;Database=d", ["LOG_FORMAT"] = "yaml" };
        var error = Assert.Throws<ConfigurationException>(() => ServiceSettings.LoadDatabaseOnly(name => env.GetValueOrDefault(name)));
        Assert.Equal("LOG_FORMAT must be json or text (got 'yaml')", Assert.Single(error.Errors));
    }

    [Fact]
    public void AShortDashboardPassword_FailsNamingIt()
    {
        var env = Valid();
        env["DASHBOARD_USERNAME"] = "admin";
        env["DASHBOARD_PASSWORD"] = "eleven-char";

        var error = Assert.Throws<ConfigurationException>(() => Load(env));

        Assert.Equal("DASHBOARD_PASSWORD must be at least 12 characters long", Assert.Single(error.Errors));
        env["DASHBOARD_PASSWORD"] = "twelve-chars";
        Assert.True(Load(env).Silo.DashboardEnabled);
    }
}
