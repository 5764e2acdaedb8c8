using GenerationWorker.GeminiEmulator;
using GenerationWorker.Grains.Tests.Reliability;
using GenerationWorker.TestSupport;

namespace GenerationWorker.Grains.Tests.Cost;

/// <summary>
/// Spend caps on a real silo, the emulator answering at $0.039 an image (gemini-2.5-flash-image): the fail action.
/// </summary>
public sealed class SpendCapTests : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _owned = [];
    private GeminiEmulatorHandle _gemini = null!;
    private string _cs = "";

    public async Task InitializeAsync()
    {
        _cs = await PostgresServer.CreateDatabaseAsync("caps");
        _gemini = await GeminiEmulatorServer.StartAsync(new EmulatorOptions { RequestLogCapacity = 10_000, Faults = new FaultSettings { LatencyMs = 300 } });
    }

    public async Task DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            await owned.DisposeAsync();
        }

        await _gemini.DisposeAsync();
        await PostgresServer.DropDatabaseAsync(_cs);
    }

    [Fact]
    public async Task WithTheFailAction_JobsACapRefusesFail_NamingTheCap()
    {
        await StartSiloAsync("global=0.078/day", action: "fail");
        var jobs = new JobTable(_cs);
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add(await jobs.InsertAsync("image_generation", new { prompt = $"fail {i}" }));
        }

        var done = await jobs.WaitAllFinalAsync(ids, TimeSpan.FromSeconds(60));

        Assert.Equal(2, done.Count(j => j.Status == "completed"));
        Assert.All(done.Where(j => j.Status != "completed"), j =>
        {
            Assert.Equal("failed", j.Status);
            Assert.Equal("Gemini spend cap global=0.078/day reached (SPEND_CAP_ACTION=fail)", j.Error);
        });
        Assert.Equal(2, _gemini.Stats.Snapshot().RecentRequests.Count(r => r.Status == 200));
    }

    private async Task<WorkerSilo> StartSiloAsync(string caps, string? action)
    {
        var env = WorkerSilo.BaseEnvironment(_cs, _gemini.BaseUrl, _gemini.ApiKey, Path.Combine(Path.GetTempPath(), "caps-" + Guid.NewGuid().ToString("N")));
        env["SPEND_CAPS"] = caps;
        env["SPEND_CAP_ACTION"] = action;
        env["MAX_JOBS_PER_MINUTE"] = "600";
        env["WORKER_CONCURRENCY"] = "8";
        var silo = await WorkerSilo.StartAsync(env);
        _owned.Add(silo);
        return silo;
    }
}
