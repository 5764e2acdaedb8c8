using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using GenerationWorker.TestSupport;

namespace GenerationWorker.Bench.Harness;

/// <summary>The project's Gemini emulator, run as a process, and its control API.</summary>
internal sealed class EmulatorProcess
{
    /// <summary>The key the emulator accepts.</summary>
    public const string ApiKey = "emulator-key";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _http;

    private EmulatorProcess(ChildProcess process, Uri baseUrl)
    {
        Process = process;
        BaseUrl = baseUrl;
        _http = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>The process.</summary>
    public ChildProcess Process { get; }

    /// <summary>Where it listens.</summary>
    public Uri BaseUrl { get; }

    /// <summary>Starts it with <paramref name="environment"/> (<c>EMULATOR_*</c>) and waits until its control API answers.</summary>
    public static async Task<EmulatorProcess> StartAsync(
        IReadOnlyDictionary<string, string?> environment, string logPath, string workingDirectory, CancellationToken cancellationToken)
    {
        var port = WorkerSilo.FreePort();
        var url = $"http://127.0.0.1:{port}";
        var process = ChildProcess.StartDotnet("emulator", Repo.EmulatorDll, ["--urls", url], environment, logPath, workingDirectory);
        var emulator = new EmulatorProcess(process, new Uri(url));
        await Eventually.UntilAsync(
            async () =>
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException("the emulator exited:\n" + process.LogTail());
                }

                try
                {
                    using var response = await emulator._http.GetAsync("/_emulator/faults", cancellationToken);
                    return response.IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            },
            TimeSpan.FromSeconds(60),
            "the emulator's control API answers",
            TimeSpan.FromMilliseconds(100),
            () => process.LogTail());
        return emulator;
    }

    /// <summary>What it saw so far.</summary>
    public async Task<EmulatorSnapshot> StatsAsync(CancellationToken cancellationToken) =>
        (await _http.GetFromJsonAsync<EmulatorSnapshot>("/_emulator/stats", Json, cancellationToken))!;

    /// <summary>Replaces the fault settings (JSON as documented in the emulator's README).</summary>
    public async Task SetFaultsAsync(string settingsJson, CancellationToken cancellationToken)
    {
        using var content = new StringContent(settingsJson, Encoding.UTF8, "application/json");
        using var response = await _http.PostAsync("/_emulator/faults", content, cancellationToken);
        response.EnsureSuccessStatusCode();
    }
}

/// <summary>The JSON of <c>GET /_emulator/stats</c> (the members the benchmarks read).</summary>
internal sealed record EmulatorSnapshot(
    long TotalRequests,
    int InFlight,
    int MaxInFlight,
    double WindowSeconds,
    int MaxRequestsInAnyWindow,
    Dictionary<string, ModelSnapshot> Models,
    List<LoggedRequest> RecentRequests)
{
    /// <summary>Quota 429s of every model.</summary>
    public long QuotaRejections => Models.Values.Sum(m => m.QuotaRejections);

    /// <summary>Successful answers of every model.</summary>
    public long Successes => Models.Values.Sum(m => m.Successes);
}

/// <summary>What one model received.</summary>
internal sealed record ModelSnapshot(
    long Requests, long Successes, long QuotaRejections, long InjectedThrottles, long Faults, long ClientErrors, long Abandoned,
    int MaxRequestsInAnyWindow);

/// <summary>One request in the emulator's log.</summary>
internal sealed record LoggedRequest(DateTimeOffset ArrivedAt, string Model, int Status, string Outcome, string PromptStart);
