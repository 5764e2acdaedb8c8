using GenerationWorker.GeminiEmulator;
using GenerationWorker.TestSupport;
using Xunit.Abstractions;

namespace GenerationWorker.Grains.Tests.Quota;

/// <summary>
/// Fair share on a real silo at a budget of 60 requests per 10 s, the emulator enforcing it: a client's flood does not
/// hold back a client with a few jobs, nor an interactive job.
/// </summary>
public sealed class FairShareClusterTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Budget = 60;
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    private GeminiEmulatorHandle _gemini = null!;
    private WorkerSilo _silo = null!;
    private string _cs = "";

    public async Task InitializeAsync()
    {
        _cs = await PostgresServer.CreateDatabaseAsync("fair");
        _gemini = await GeminiEmulatorServer.StartAsync(new EmulatorOptions
        {
            RequestsPerWindow = Budget, Window = Window, RequestLogCapacity = 10_000,
            Faults = new FaultSettings { LatencyMs = 100 },
        });
        var env = WorkerSilo.BaseEnvironment(_cs, _gemini.BaseUrl, _gemini.ApiKey, Path.Combine(Path.GetTempPath(), "fair-" + Guid.NewGuid().ToString("N")));
        env["MAX_JOBS_PER_MINUTE"] = Budget.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env["QUOTA_WINDOW_SECONDS"] = "10";
        env["WORKER_CONCURRENCY"] = "10";
        _silo = await WorkerSilo.StartAsync(env);
    }

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        await _gemini.DisposeAsync();
        await PostgresServer.DropDatabaseAsync(_cs);
    }

    [Fact]
    public async Task AFewJobsOfOneClient_FinishWithinAboutTwoWindows_DuringAnotherClientsFlood_AndAnInteractiveJobStartsAtOnce()
    {
        var jobs = new JobTable(_cs);
        await jobs.ExecuteAsync(
            """
            INSERT INTO generation_job (id, client_id, type, payload)
            SELECT 'flood_' || n, 'client_a', 'image_generation', jsonb_build_object('prompt', 'flood ' || n)
            FROM generate_series(1, 600) n
            """);
        await Eventually.UntilAsync(() => _gemini.Stats.Snapshot().TotalRequests >= 10, TimeSpan.FromSeconds(20), "the flood is being served");

        var insertedAt = DateTimeOffset.UtcNow;
        var few = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            few.Add(await jobs.InsertAsync("image_generation", new { prompt = $"few {i}" }, clientId: "client_b"));
        }

        var done = await jobs.WaitAllFinalAsync(few, TimeSpan.FromSeconds(60));
        var took = DateTimeOffset.UtcNow - insertedAt;
        var floodLeft = await jobs.ScalarAsync<long>("SELECT count(*) FROM generation_job WHERE client_id = 'client_a' AND status = 'pending'");
        output.WriteLine($"client B's 20 jobs took {took.TotalSeconds:0.0} s ({took / Window:0.00} windows) during client A's flood; {floodLeft} of A's 600 still pending");
        Assert.All(done, job => Assert.Equal("completed", job.Status));
        Assert.True(took < Window * 3, $"B waited {took.TotalSeconds:0.0} s behind the flood");
        Assert.True(floodLeft > 400, "the flood was mostly served first");

        // An interactive job (priority 10) during the flood: the next slot that frees is its.
        var urgentAt = DateTimeOffset.UtcNow;
        var urgent = await jobs.InsertAsync("image_generation", new { prompt = "urgent one" }, clientId: "client_c", priority: 10);
        await jobs.WaitFinalAsync(urgent, TimeSpan.FromSeconds(30));
        var sent = _gemini.Stats.Snapshot().RecentRequests.Single(r => r.PromptStart.Contains("urgent one", StringComparison.Ordinal)).ArrivedAt;
        var started = await jobs.ScalarAsync<DateTime>("SELECT started_at FROM generation_job WHERE id = @id", ("id", urgent));
        output.WriteLine($"the interactive job was claimed {(new DateTimeOffset(started, TimeSpan.Zero) - urgentAt).TotalMilliseconds:0} ms and its request reached Gemini {(sent - urgentAt).TotalMilliseconds:0} ms after its insert (one slot: {(Window / Budget).TotalMilliseconds:0} ms)");
        Assert.True(sent - urgentAt < TimeSpan.FromSeconds(3), $"the interactive job waited {(sent - urgentAt).TotalSeconds:0.0} s");
        Assert.Equal(0, _gemini.Stats.Snapshot().RecentRequests.Count(r => r.Status == 429));
    }
}
