using GenerationWorker.Grains.Storage;
using GenerationWorker.Silo.Configuration;
using GenerationWorker.Silo.Hosting;

namespace GenerationWorker.Silo.Tests.Configuration;

public sealed class ServiceSettingsTests
{
    private static Dictionary<string, string?> Valid() => new()
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
        Assert.Equal(30000, settings.Silo.GatewayPort);
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
    [InlineData("MAX_JOBS_PER_MINUTE", "5")]
    [InlineData("POLL_INTERVAL_MS", "1.5")]
    [InlineData("PORT", "70000")]
    [InlineData("SILO_PORT", "x")]
    [InlineData("GATEWAY_PORT", "0")]
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
    public void MalformedVariable_FailsNamingIt(string name, string value)
    {
        var env = Valid();
        env[name] = value;
        var error = Assert.Throws<ConfigurationException>(() => Load(env));
        Assert.Contains(error.Errors, e => e.Contains(name, StringComparison.Ordinal));
        Assert.Single(error.Errors);
    }

    [Fact]
    public void Errors_NeverEchoSecrets()
    {
        var env = Valid();
        env["DATABASE_URL"] = "postgres://u:hunter2@h/db?sslmode=bogus";
        env["DASHBOARD_PASSWORD"] = "dash-secret";
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
}
