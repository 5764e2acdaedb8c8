using System.Net.Http.Json;
using System.Text.Json;
using GenerationWorker.GeminiEmulator;
using GenerationWorker.TestSupport;
using Xunit.Abstractions;

namespace GenerationWorker.Grains.Tests.Quota;

/// <summary>Three silos of one cluster (one of them with its clock 2 s ahead) against an emulator that enforces exactly the budget.</summary>
public sealed class ClusterBudgetFixture : IAsyncLifetime
{
    public const int Budget = 16;
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(4);

    private GeminiEmulatorHandle? _gemini;

    public GeminiEmulatorHandle Gemini => _gemini!;

    public string ConnectionString { get; private set; } = "";

    public JobTable Jobs { get; private set; } = null!;

    public List<WorkerSilo> Silos { get; } = [];

    public async Task InitializeAsync()
    {
        _gemini = await GeminiEmulatorServer.StartAsync(new EmulatorOptions { RequestsPerWindow = Budget, Window = Window });
        ConnectionString = await PostgresServer.CreateDatabaseAsync("quota");
        Jobs = new JobTable(ConnectionString);
        var env = WorkerSilo.BaseEnvironment(ConnectionString, Gemini.BaseUrl, Gemini.ApiKey, Path.Combine(Path.GetTempPath(), "quota-" + Guid.NewGuid().ToString("N")));
        env["MAX_JOBS_PER_MINUTE"] = Budget.ToString();
        env["QUOTA_WINDOW_SECONDS"] = Window.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env["WORKER_CONCURRENCY"] = "4";
        // Three silos, the emulator and the test share two cores here, with the default margin: a slot counts from the
        // moment its request was written, however late that is after the permit was taken.
        for (var i = 0; i < 3; i++)
        {
            // The third silo's clock runs 2 s ahead of the others': the budget must hold whichever silo the quota grain
            // lives on (it counts durations, never another silo's times).
            Silos.Add(await WorkerSilo.StartAsync(new Dictionary<string, string?>(env) { ["BUDGET_CLOCK_OFFSET_SECONDS"] = i == 2 ? "2" : null }));
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var silo in Silos)
        {
            await silo.DisposeAsync();
        }

        await Gemini.DisposeAsync();
        await PostgresServer.DropDatabaseAsync(ConnectionString);
    }
}

[CollectionDefinition(nameof(ClusterBudgetCollection), DisableParallelization = true)]
public sealed class ClusterBudgetCollection : ICollectionFixture<ClusterBudgetFixture>;

[Collection(nameof(ClusterBudgetCollection))]
public sealed class ClusterBudgetTests(ClusterBudgetFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task ThreeSilos_SendNoMoreThanTheBudgetInAnyWindow_AndGetNo429()
    {
        fixture.Gemini.Reset();
        var ids = new List<string>();
        var requests = 0;
        for (var i = 0; i < 24; i++)
        {
            var variants = (i % 4) + 1;
            requests += variants;
            ids.Add(await fixture.Jobs.InsertAsync("image_generation", new { prompt = $"budget {i}", settings = new { numberOfVariants = variants } }));
        }

        var started = DateTimeOffset.UtcNow;
        var jobs = await fixture.Jobs.WaitAllFinalAsync(ids, TimeSpan.FromSeconds(60));
        var elapsed = DateTimeOffset.UtcNow - started;

        Assert.All(jobs, job => Assert.Equal("completed", job.Status));
        var stats = fixture.Gemini.Stats.Snapshot();
        var model = stats.Models.Values.Single();
        output.WriteLine($"emulator: {model.Requests} requests, {model.QuotaRejections} quota 429s, most in any window {stats.MaxRequestsInAnyWindow}");
        Assert.Equal(0, model.QuotaRejections);
        Assert.Equal(requests, model.Requests);
        Assert.InRange(stats.MaxRequestsInAnyWindow, 1, ClusterBudgetFixture.Budget);
        var claimers = jobs.Select(j => j.LockedBy).Distinct().Count();
        output.WriteLine($"{requests} requests in {elapsed.TotalSeconds:0.0} s by {claimers} silos; most in any {ClusterBudgetFixture.Window.TotalSeconds} s window: {stats.MaxRequestsInAnyWindow} (budget {ClusterBudgetFixture.Budget}); " +
            $"ideal time {(double)requests / ClusterBudgetFixture.Budget * ClusterBudgetFixture.Window.TotalSeconds:0.0} s; per second: "
            + string.Join(" ", model.PerSecond.Select(s => s.Count)));
    }

    [Fact]
    public async Task A429WithRetryDelay_PausesTheWholeCluster_AndTheJobKeepsItsAttempt()
    {
        fixture.Gemini.Reset();
        fixture.Gemini.Faults.Configure(new FaultSettings { RetryDelaySeconds = 2 });
        fixture.Gemini.Faults.Enqueue(FaultKind.QuotaRetry);
        var throttled = await fixture.Jobs.InsertAsync("image_generation", new { prompt = "throttled " + Guid.NewGuid() });
        using var http = new HttpClient();
        await Eventually.UntilAsync(
            async () =>
            {
                using var response = await http.GetAsync(new Uri(fixture.Silos[0].HttpBase, "health"));
                var body = await response.Content.ReadFromJsonAsync<JsonElement>();
                return response.IsSuccessStatusCode && body.TryGetProperty("quota", out var quota) && quota.GetString() == "paused";
            },
            TimeSpan.FromSeconds(10),
            "/health stays 200 and says quota paused",
            TimeSpan.FromMilliseconds(20));

        var others = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            others.Add(await fixture.Jobs.InsertAsync("image_generation", new { prompt = $"during pause {i} {Guid.NewGuid()}" }));
        }

        var job = await fixture.Jobs.WaitFinalAsync(throttled, TimeSpan.FromSeconds(30));
        await fixture.Jobs.WaitAllFinalAsync(others);

        Assert.Equal("completed", job.Status);
        Assert.Equal(1, job.Attempts);
        var log = fixture.Gemini.Stats.Snapshot().RecentRequests;
        var the429 = log.Single(r => r.Status == 429);
        // Requests past their permit when the 429 came were in flight (each silo learns of the pause within a message);
        // none may start after that until the retryDelay ends.
        var inFlight = TimeSpan.FromMilliseconds(100);
        var next = log.Where(r => r.ArrivedAt > the429.ArrivedAt + inFlight).Min(r => r.ArrivedAt);
        var quiet = next - the429.ArrivedAt;
        output.WriteLine($"after the 429 (retryDelay 2 s) the next request anywhere in the cluster, past the in-flight {inFlight.TotalMilliseconds} ms, came {quiet.TotalMilliseconds:0} ms later");
        Assert.True(quiet >= TimeSpan.FromSeconds(2), $"a request arrived {quiet.TotalMilliseconds:0} ms after the 429");
    }
}
