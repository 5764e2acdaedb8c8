using System.Net.Http.Json;
using System.Text.Json;
using GenerationWorker.GeminiEmulator;
using GenerationWorker.Grains.Quota;
using GenerationWorker.TestSupport;
using Xunit.Abstractions;

namespace GenerationWorker.Grains.Tests.Cost;

/// <summary>
/// Spend caps on real silos, the emulator answering at $0.039 an image (gemini-2.5-flash-image): a global cap across
/// three silos, a client's cap within it, a daily cap released by the next Pacific day, and the fail action.
/// </summary>
public sealed class SpendCapTests(ITestOutputHelper output) : IAsyncLifetime
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
    public async Task AGlobalCap_StopsSpendingAcrossThreeSilos_AndAClientsCapHoldsThatClientWithinIt()
    {
        var silos = new List<WorkerSilo>();
        for (var i = 0; i < 3; i++)
        {
            silos.Add(await StartSiloAsync("global=0.39/day;client_b=0.078/day", action: null));
        }

        var jobs = new JobTable(_cs);
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await jobs.InsertAsync("image_generation", new { prompt = $"b {i}" }, clientId: "client_b"));
        }

        for (var i = 0; i < 15; i++)
        {
            ids.Add(await jobs.InsertAsync("image_generation", new { prompt = $"a {i}" }, clientId: "client_a"));
        }

        // Ten images fit in $0.39: wait until the cluster's cap shows them charged and nothing reserved.
        using var http = new HttpClient { BaseAddress = silos[0].HttpBase };
        http.DefaultRequestHeaders.Authorization = WorkerSilo.OperatorAuthorization();
        await Eventually.ValueAsync(() => GlobalCapAsync(http), cap => cap is { Spent: 0.39m, Reserved: 0m }, TimeSpan.FromSeconds(60), "the global cap spent");

        var rows = await Task.WhenAll(ids.Select(jobs.GetAsync));
        var billed = _gemini.Stats.Snapshot().RecentRequests.Count(r => r.Status == 200);
        var ledger = await jobs.ScalarAsync<long>("SELECT coalesce(sum(cost_micros), 0)::bigint FROM gemini_cost_ledger");
        output.WriteLine($"3 silos, global cap $0.39: {billed} images answered, ledger ${ledger / 1_000_000m}, client_b completed {rows.Take(5).Count(r => r.Status == "completed")} of 5 (cap $0.078)");
        Assert.Equal(10, billed);
        Assert.Equal(390_000, ledger);
        Assert.Equal(2, rows.Take(5).Count(r => r.Status == "completed"));
        Assert.Equal(8, rows.Skip(5).Count(r => r.Status == "completed"));

        // The rest wait: pending, no error, no attempt spent.
        Assert.All(rows.Where(r => r.Status != "completed"), r => Assert.Equal(("pending", 0, null), (r.Status, r.Attempts, r.Error)));
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

    [Fact]
    public async Task ADailyCap_HoldsJobsUntilMidnightPacific_ThenTheNewDayReleasesIt()
    {
        // The budget's clock 20 s before the next midnight Pacific; two images fit in the day's $0.078.
        var now = DateTimeOffset.UtcNow;
        var offset = TimeSpan.FromSeconds(Math.Floor((QuotaClock.NextPacificMidnight(now) - TimeSpan.FromSeconds(20) - now).TotalSeconds));
        var midnight = QuotaClock.NextPacificMidnight(now + offset);
        await StartSiloAsync("global=0.078/day", action: null, offset);
        var jobs = new JobTable(_cs);
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add(await jobs.InsertAsync("image_generation", new { prompt = $"day {i}" }));
        }

        // Before midnight: two images, the other two jobs wait, pending, no attempt spent, no error.
        await Eventually.UntilAsync(
            async () => (await Task.WhenAll(ids.Select(jobs.GetAsync))).Count(j => j.Status == "completed") == 2, TimeSpan.FromSeconds(15), "two jobs completed");
        Assert.True(DateTimeOffset.UtcNow + offset < midnight, "the first day ended before the cap was reached; the machine is too slow for this test");
        var held = (await Task.WhenAll(ids.Select(jobs.GetAsync))).Where(j => j.Status != "completed").ToList();
        Assert.Equal(2, held.Count);
        Assert.All(held, j => Assert.Equal(("pending", 0, null), (j.Status, j.Attempts, j.Error)));

        // The new Pacific day releases the cap: the held jobs run, each on its first attempt, after midnight.
        var done = await jobs.WaitAllFinalAsync(ids, TimeSpan.FromSeconds(60));
        Assert.All(done, job => Assert.Equal(("completed", 1), (job.Status, job.Attempts)));
        var answered = _gemini.Stats.Snapshot().RecentRequests.Where(r => r.Status == 200).Select(r => r.ArrivedAt + offset).Order().ToList();
        output.WriteLine($"daily cap $0.078: 2 images before midnight Pacific, the next at {answered[2].UtcDateTime:HH:mm:ss.fff} UTC (midnight Pacific is {midnight.UtcDateTime:HH:mm:ss} UTC)");
        Assert.Equal(4, answered.Count);
        Assert.True(answered[2] >= midnight, "a held job was answered before midnight Pacific");
    }

    private static async Task<(decimal Spent, decimal Reserved)?> GlobalCapAsync(HttpClient http)
    {
        var status = await http.GetFromJsonAsync<JsonElement>("status");
        foreach (var cap in status.GetProperty("spendCaps").EnumerateArray())
        {
            if (cap.GetProperty("cap").GetString()!.StartsWith("global", StringComparison.Ordinal))
            {
                return (cap.GetProperty("spentUsd").GetDecimal(), cap.GetProperty("reservedUsd").GetDecimal());
            }
        }

        return null;
    }

    private async Task<WorkerSilo> StartSiloAsync(string caps, string? action, TimeSpan? clockOffset = null)
    {
        var env = WorkerSilo.BaseEnvironment(_cs, _gemini.BaseUrl, _gemini.ApiKey, Path.Combine(Path.GetTempPath(), "caps-" + Guid.NewGuid().ToString("N")));
        env["SPEND_CAPS"] = caps;
        env["SPEND_CAP_ACTION"] = action;
        env["MAX_JOBS_PER_MINUTE"] = "600";
        env["WORKER_CONCURRENCY"] = "8";
        env["BUDGET_CLOCK_OFFSET_SECONDS"] = clockOffset is { } offset ? ((long)offset.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
        var silo = await WorkerSilo.StartAsync(env);
        _owned.Add(silo);
        return silo;
    }
}
