using GenerationWorker.GeminiEmulator;
using GenerationWorker.Grains.Quota;
using GenerationWorker.TestSupport;
using Xunit.Abstractions;

namespace GenerationWorker.Grains.Tests.Quota;

/// <summary>
/// Budgets per model against an emulator enforcing the same limits, on one silo process: two models side by side, and
/// a per-day quota exhausted on one model a little before midnight Pacific (the silo's and the emulator's clocks both
/// set 25 s before it).
/// </summary>
public sealed class ModelBudgetTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Flash = "gemini-2.5-flash-image";
    private const string Pro = "gemini-3-pro-image";
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(4);

    private readonly List<IAsyncDisposable> _owned = [];
    private string _cs = "";

    public async Task InitializeAsync() => _cs = await PostgresServer.CreateDatabaseAsync("models");

    public async Task DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            await owned.DisposeAsync();
        }

        await PostgresServer.DropDatabaseAsync(_cs);
    }

    [Fact]
    public async Task TwoModels_RunSideBySide_EachWithinItsOwnLimit()
    {
        var gemini = await StartEmulatorAsync(new EmulatorOptions
        {
            Window = Window,
            RequestsPerWindowByModel = { [Flash] = 16, [Pro] = 8 },
            RequestLogCapacity = 10_000,
        });
        var jobs = await StartSiloAsync(gemini, $"{Flash}=16/4s;{Pro}=8/4s", clockOffset: null);

        var ids = new List<string>();
        for (var i = 0; i < 32; i++)
        {
            ids.Add(await jobs.InsertAsync("image_generation", new { prompt = $"flash {i}" }));
        }

        for (var i = 0; i < 16; i++)
        {
            ids.Add(await jobs.InsertAsync("image_generation", new { prompt = $"pro {i}", modelOverrides = new { imageModel = Pro } }));
        }

        var done = await jobs.WaitAllFinalAsync(ids, TimeSpan.FromSeconds(60));

        Assert.All(done, job => Assert.Equal("completed", job.Status));
        var log = gemini.Stats.Snapshot().RecentRequests;
        var flash = log.Where(r => r.Model == Flash).Select(r => r.ArrivedAt).Order().ToList();
        var pro = log.Where(r => r.Model == Pro).Select(r => r.ArrivedAt).Order().ToList();
        output.WriteLine($"flash: {flash.Count} requests, most in any 4 s {MostInAnyWindow(flash)}; pro: {pro.Count}, most {MostInAnyWindow(pro)}; together most {MostInAnyWindow([.. flash.Concat(pro).Order()])}");
        Assert.Equal((32, 16), (flash.Count, pro.Count));
        Assert.Equal(0, log.Count(r => r.Status == 429));
        Assert.InRange(MostInAnyWindow(flash), 1, 16);
        Assert.InRange(MostInAnyWindow(pro), 1, 8);

        // Side by side: together above either limit in some window.
        Assert.True(MostInAnyWindow([.. flash.Concat(pro).Order()]) > 16, "the two models did not run at the same time");
    }

    [Fact]
    public async Task AJobsVariants_AreSentAsTheirPermitsArrive_NotWhenAllHaveGathered()
    {
        // Pro allows 8 requests per 4 s, paced at 2 a second: an 8-variant job starts on its first permit, and each
        // variant is sent as its permit arrives, not when all 8 have gathered in the pool.
        var gemini = await StartEmulatorAsync(new EmulatorOptions
        {
            Window = Window,
            RequestsPerWindowByModel = { [Pro] = 8 },
            RequestLogCapacity = 1_000,
        });
        var jobs = await StartSiloAsync(gemini, $"{Pro}=8/4s", clockOffset: null);

        var id = await jobs.InsertAsync("image_generation", new
        {
            prompt = "eight variants",
            settings = new { numberOfVariants = 8 },
            modelOverrides = new { imageModel = Pro },
        });
        var done = await jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(30));

        var log = gemini.Stats.Snapshot().RecentRequests.Where(r => r.Model == Pro).Select(r => r.ArrivedAt).Order().ToList();
        output.WriteLine($"{log.Count} requests, at {string.Join(", ", log.Select(a => (a - log[0]).TotalSeconds.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)))} s");
        Assert.Equal(("completed", 1), (done.Status, done.Attempts));
        Assert.Equal(8, log.Count);
        Assert.InRange(MostInAnyWindow(log), 1, 8);
        Assert.True(log[^1] - log[0] > TimeSpan.FromSeconds(1), "the variants were sent together, after their permits gathered");
    }

    [Fact]
    public async Task AModelWhoseLimitIsSmallerThanAJob_RunsTheJobAcrossWindows_NeverAboveTheLimit()
    {
        // Pro allows 3 requests per 4 s: a 4-variant job sends 3 in the first window and its last one when a slot frees.
        var gemini = await StartEmulatorAsync(new EmulatorOptions
        {
            Window = Window,
            RequestsPerWindowByModel = { [Pro] = 3 },
            RequestLogCapacity = 1_000,
        });
        var jobs = await StartSiloAsync(gemini, $"{Pro}=3/4s", clockOffset: null);

        var id = await jobs.InsertAsync("image_generation", new
        {
            prompt = "four variants, three a window",
            settings = new { numberOfVariants = 4 },
            modelOverrides = new { imageModel = Pro },
        });
        var done = await jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(30));

        var log = gemini.Stats.Snapshot().RecentRequests.Where(r => r.Model == Pro).ToList();
        var arrivals = log.Select(r => r.ArrivedAt).Order().ToList();
        output.WriteLine($"{log.Count} requests, at {string.Join(", ", arrivals.Select(a => (a - arrivals[0]).TotalSeconds.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)))} s");
        Assert.Equal(("completed", 1), (done.Status, done.Attempts));
        Assert.Equal(4, log.Count);
        Assert.Equal(0, log.Count(r => r.Status == 429));
        Assert.InRange(MostInAnyWindow(arrivals), 1, 3);
    }

    [Fact]
    public async Task APerDayQuotaExhausted_HoldsOnlyThatModelsJobs_UntilMidnightPacific_WithoutSpendingTheirAttempts()
    {
        // Both clocks 25 s before the next midnight Pacific.
        var now = DateTimeOffset.UtcNow;
        var offset = QuotaClock.NextPacificMidnight(now) - TimeSpan.FromSeconds(25) - now;
        offset = TimeSpan.FromSeconds(Math.Floor(offset.TotalSeconds));
        var gemini = await StartEmulatorAsync(new EmulatorOptions
        {
            RequestsPerDayByModel = { [Pro] = 2 },
            TimeProvider = new BudgetClock(offset),
            RequestLogCapacity = 10_000,
        });
        var jobs = await StartSiloAsync(gemini, modelBudgets: null, clockOffset: offset);

        var pro = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            pro.Add(await jobs.InsertAsync("image_generation", new { prompt = $"pro {i}", modelOverrides = new { imageModel = Pro } }));
            if (i < 2)
            {
                await jobs.WaitFinalAsync(pro[i], TimeSpan.FromSeconds(15));
            }
        }

        // The third Pro request meets the per-day quota: Pro waits for midnight (a fourth Pro job with it), Flash goes on.
        await Eventually.UntilAsync(() => gemini.Stats.Snapshot().RecentRequests.Any(r => r.Status == 429), TimeSpan.FromSeconds(15), "the per-day 429");
        pro.Add(await jobs.InsertAsync("image_generation", new { prompt = "pro 3", modelOverrides = new { imageModel = Pro } }));
        var flash = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            flash.Add(await jobs.InsertAsync("image_generation", new { prompt = $"flash {i}" }));
        }

        var flashDone = await jobs.WaitAllFinalAsync(flash, TimeSpan.FromSeconds(15));
        Assert.All(flashDone, job => Assert.Equal("completed", job.Status));
        foreach (var id in pro.Skip(2))
        {
            var held = await jobs.GetAsync(id);
            Assert.Equal(("pending", 0, null), (held.Status, held.Attempts, held.Error));
        }

        // After midnight (both clocks) the held jobs run, each on its first attempt.
        var done = await jobs.WaitAllFinalAsync(pro, TimeSpan.FromSeconds(60));
        Assert.All(done, job => Assert.Equal(("completed", 1), (job.Status, job.Attempts)));
        var answered = gemini.Stats.Snapshot().RecentRequests.Where(r => r.Model == Pro && r.Status == 200).Select(r => r.ArrivedAt).ToList();
        output.WriteLine($"per-day 429 at the emulator's {gemini.Stats.Snapshot().RecentRequests.First(r => r.Status == 429).ArrivedAt + offset:HH:mm:ss} UTC; Flash jobs done while Pro waited; Pro resumed at {answered.Skip(2).Min() + offset:HH:mm:ss} UTC");
        Assert.True(answered.Skip(2).All(at => at + offset >= QuotaClock.NextPacificMidnight(now + offset)), "a held Pro job ran before midnight Pacific");
        Assert.Equal(1, gemini.Stats.Snapshot().RecentRequests.Count(r => r.Status == 429));
    }

    private async Task<GeminiEmulatorHandle> StartEmulatorAsync(EmulatorOptions options)
    {
        var gemini = await GeminiEmulatorServer.StartAsync(options);
        _owned.Add(gemini);
        return gemini;
    }

    private async Task<JobTable> StartSiloAsync(GeminiEmulatorHandle gemini, string? modelBudgets, TimeSpan? clockOffset)
    {
        var env = WorkerSilo.BaseEnvironment(_cs, gemini.BaseUrl, gemini.ApiKey, Path.Combine(Path.GetTempPath(), "models-" + Guid.NewGuid().ToString("N")));
        env["MAX_JOBS_PER_MINUTE"] = "60";
        env["GEMINI_MODEL_BUDGETS"] = modelBudgets;
        env["BUDGET_CLOCK_OFFSET_SECONDS"] = clockOffset is { } offset ? ((long)offset.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
        env["WORKER_CONCURRENCY"] = "8";
        _owned.Add(await WorkerSilo.StartAsync(env));
        return new JobTable(_cs);
    }

    private static int MostInAnyWindow(List<DateTimeOffset> arrivals)
    {
        var most = 0;
        for (int first = 0, last = 0; last < arrivals.Count; last++)
        {
            while (arrivals[last] - arrivals[first] >= Window)
            {
                first++;
            }

            most = Math.Max(most, last - first + 1);
        }

        return most;
    }
}
