using System.Net;
using System.Net.Sockets;
using GenerationWorker.Grains;
using GenerationWorker.Silo.Configuration;
using GenerationWorker.Silo.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GenerationWorker.TestSupport;

/// <summary>
/// A silo of the real service, composed exactly as the executable composes it (<see cref="WorkerApp"/>), running in the
/// test process on free loopback ports.
/// </summary>
public sealed class WorkerSilo : IAsyncDisposable
{
    private readonly WebApplication _app;
    private bool _stopped;

    private WorkerSilo(WebApplication app, Uri httpBase, ServiceSettings settings)
    {
        _app = app;
        HttpBase = httpBase;
        Settings = settings;
    }

    /// <summary>Where /health, /status, /files and /dashboard are served.</summary>
    public Uri HttpBase { get; }

    /// <summary>The settings it runs with.</summary>
    public ServiceSettings Settings { get; }

    /// <summary>The silo's services (grain factory, worker health...).</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>The grain factory of this silo.</summary>
    public IGrainFactory Grains => Services.GetRequiredService<IGrainFactory>();

    /// <summary>This silo's worker state.</summary>
    public WorkerHealth Health => Services.GetRequiredService<WorkerHealth>();

    /// <summary>The <c>DASHBOARD_USERNAME</c> of test silos (/status and /cluster need it).</summary>
    public const string OperatorUsername = "operator";

    /// <summary>The <c>DASHBOARD_PASSWORD</c> of test silos.</summary>
    public const string OperatorPassword = "test-operator-password";

    /// <summary>An Authorization header with the test silos' operator credentials.</summary>
    public static System.Net.Http.Headers.AuthenticationHeaderValue OperatorAuthorization(
        string username = OperatorUsername, string password = OperatorPassword) =>
        new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{username}:{password}")));

    /// <summary>Environment variables every test silo gets unless a test overrides them.</summary>
    public static Dictionary<string, string?> BaseEnvironment(string connectionString, Uri geminiBaseUrl, string geminiKey, string storageDir) => new()
    {
        ["DATABASE_URL"] = connectionString,
        ["GEMINI_API_KEY"] = geminiKey,
        ["GEMINI_BASE_URL"] = geminiBaseUrl.ToString(),
        ["GEMINI_TIMEOUT_SECONDS"] = "10",
        ["STORAGE"] = "local",
        ["LOCAL_STORAGE_DIR"] = storageDir,
        ["ORLEANS_ADVERTISED_IP"] = "127.0.0.1",
        ["ORLEANS_CLUSTER_ID"] = "test-" + Guid.NewGuid().ToString("N")[..12],
        ["POLL_INTERVAL_MS"] = "200",
        ["RETRY_BASE_SECONDS"] = "0.2",
        ["RETRY_MAX_SECONDS"] = "2",
        ["IMAGE_URL_ALLOW_PRIVATE"] = "true",
        ["SHUTDOWN_TIMEOUT_SECONDS"] = "5",
        ["MAX_JOBS_PER_MINUTE"] = "100000",
        ["QUOTA_WINDOW_SECONDS"] = "60",
        ["DASHBOARD_USERNAME"] = OperatorUsername,
        ["DASHBOARD_PASSWORD"] = OperatorPassword,
    };

    /// <summary>Starts a silo with <paramref name="environment"/> (ports are added) and waits until its worker runs.</summary>
    public static async Task<WorkerSilo> StartAsync(
        IReadOnlyDictionary<string, string?> environment, ILoggerProvider? logs = null, Action<WebApplicationBuilder>? configure = null)
    {
        var env = new Dictionary<string, string?>(environment);
        var httpPort = FreePort();
        env["PORT"] = httpPort.ToString();
        env.TryAdd("SILO_PORT", FreePort().ToString());
        env.TryAdd("GATEWAY_PORT", FreePort().ToString());
        var settings = ServiceSettings.Load(name => env.GetValueOrDefault(name));
        var app = await WorkerApp.BuildAsync(settings, [], builder =>
        {
            builder.WebHost.UseUrls($"http://127.0.0.1:{httpPort}");
            builder.Logging.ClearProviders();
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            if (logs is not null)
            {
                builder.Logging.AddProvider(logs);
            }

            configure?.Invoke(builder);
        });
        await app.StartAsync();
        var silo = new WorkerSilo(app, new Uri($"http://127.0.0.1:{httpPort}/"), settings);
        await Eventually.UntilAsync(() => silo.Health.Running, TimeSpan.FromSeconds(30), "the silo's worker starts", TimeSpan.FromMilliseconds(20));

        return silo;
    }

    /// <summary>Stops the silo gracefully (as on SIGTERM).</summary>
    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await _app.StopAsync();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>
    /// A free TCP port on loopback, below the kernel's range for outgoing connections: a port of that range, free when
    /// chosen, can be taken by a client socket (of Npgsql, of an HTTP client) before the server binds it.
    /// </summary>
    public static int FreePort()
    {
        var firstEphemeral = FirstEphemeralPort();
        for (var tries = 0; tries < 100 && firstEphemeral > LowestPort + 1000; tries++)
        {
            var port = Random.Shared.Next(LowestPort, firstEphemeral);
            try
            {
                using var probe = new TcpListener(IPAddress.Loopback, port);
                probe.Start();
                return port;
            }
            catch (SocketException)
            {
                // Taken: try another.
            }
        }

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private const int LowestPort = 20000;

    private static int FirstEphemeralPort()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range");
            return int.Parse(range.Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or FormatException)
        {
            return 32768;
        }
    }
}
