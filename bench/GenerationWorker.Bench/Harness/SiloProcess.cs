using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace GenerationWorker.Bench.Harness;

/// <summary>One silo of the service, run as the executable is run in production.</summary>
internal sealed class SiloProcess
{
    private readonly HttpClient _http;

    private SiloProcess(string name, ChildProcess process, int httpPort, int siloPort)
    {
        Name = name;
        Process = process;
        HttpPort = httpPort;
        SiloPort = siloPort;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(5) };
    }

    /// <summary>silo1, silo2...</summary>
    public string Name { get; }

    /// <summary>The process.</summary>
    public ChildProcess Process { get; }

    /// <summary><c>PORT</c>.</summary>
    public int HttpPort { get; }

    /// <summary><c>SILO_PORT</c>.</summary>
    public int SiloPort { get; }

    /// <summary>The silo's identity as written in <c>generation_job.locked_by</c> (<c>ip:port@generation</c>).</summary>
    public string? Identity { get; private set; }

    /// <summary>Starts a silo with fresh ports; does not wait for it.</summary>
    public static SiloProcess Start(string name, IReadOnlyDictionary<string, string?> environment, string logPath, string workingDirectory)
    {
        var env = new Dictionary<string, string?>(environment);
        var httpPort = Ports.Free();
        var siloPort = Ports.Free();
        env["PORT"] = httpPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env["SILO_PORT"] = siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env["GATEWAY_PORT"] = Ports.Free().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var process = ChildProcess.StartDotnet(name, Repo.SiloDll, [], env, logPath, workingDirectory);
        var silo = new SiloProcess(name, process, httpPort, siloPort);
        if (env.GetValueOrDefault("DASHBOARD_USERNAME") is { } user && env.GetValueOrDefault("DASHBOARD_PASSWORD") is { } password)
        {
            // /status and /cluster need the dashboard's credentials.
            silo._http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue(
                "Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{user}:{password}")));
        }

        return silo;
    }

    /// <summary>Waits until <c>/health</c> answers 200, then reads the silo's identity from <c>/status</c>.</summary>
    public async Task WaitHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            if (Process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited before it was healthy:\n{Process.LogTail()}");
            }

            try
            {
                using var response = await _http.GetAsync("/health", cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    // A silo starting on a busy machine may answer /health and still be slow to answer /status.
                    var status = await _http.GetFromJsonAsync<JsonElement>("/status", cancellationToken);
                    Identity = status.GetProperty("silo").GetString();
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }

            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new TimeoutException($"{Name} was not healthy within {timeout.TotalSeconds:0} s:\n{Process.LogTail()}");
            }

            await Task.Delay(200, cancellationToken);
        }
    }
}
