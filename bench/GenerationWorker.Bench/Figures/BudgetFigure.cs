using System.Globalization;
using GenerationWorker.Bench.Harness;

namespace GenerationWorker.Bench;

/// <summary>
/// The cluster's one Gemini budget against an emulator that enforces exactly that budget (EMULATOR_RPM =
/// MAX_JOBS_PER_MINUTE per EMULATOR_WINDOW_SECONDS = QUOTA_WINDOW_SECONDS) with a backlog of 1-4 variant jobs: the most
/// requests in any sliding window, the utilization, and the 429s, for 1, 2 and 3 silos; then with the silo that holds
/// the quota grain killed (-9) and restarted mid-run; then a 429 with retryDelay sent by the emulator.
/// </summary>
internal static class BudgetFigure
{
    private const int Budget = 60;
    private const string Model = "gemini-2.5-flash-image";

    /// <summary>1, 2 and 3 silos.</summary>
    public static async Task<FigureResult> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var window = TimeSpan.FromSeconds(options.Short ? 5 : 10);
        var windows = options.Short ? 3 : 6;
        var result = new FigureResult("budget");
        var table = Header($"budget {Budget} requests per {window.TotalSeconds:0} s window, emulator enforcing the same; {windows} windows measured from the first request");
        var runs = new List<BudgetRun>();
        foreach (var silos in new[] { 1, 2, 3 })
        {
            var measured = await MeasureAsync($"budget-{silos}", silos, window, windows, kill: false, cancellationToken);
            runs.Add(measured);
            AddRow(table, $"{silos} silo{(silos == 1 ? "" : "s")}", measured);
        }

        result.Tables.Add(table);
        AddDefinitions(result, window);
        result.Set("runs", runs);
        return result;
    }

    /// <summary>3 silos; the one that activated the quota grain is killed -9 after 1.5 windows and started again.</summary>
    public static async Task<FigureResult> RunKillQuotaSiloAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var window = TimeSpan.FromSeconds(options.Short ? 5 : 10);
        var windows = options.Short ? 4 : 6;
        var result = new FigureResult("budget-kill-quota-silo");
        var measured = await MeasureAsync("budget-kill", 3, window, windows, kill: true, cancellationToken);
        var table = Header($"budget {Budget} per {window.TotalSeconds:0} s, 3 silos, quota grain's silo killed -9 at 1.5 windows and restarted");
        AddRow(table, "3 silos, kill -9 + restart", measured);
        result.Tables.Add(table);
        result.Notes.Add(measured.Kill?.Description ?? "no kill happened");
        AddDefinitions(result, window);
        result.Set("run", measured);
        return result;
    }

    /// <summary>A 429 with retryDelay 5 s from the emulator while 2 silos work through a backlog.</summary>
    public static async Task<FigureResult> RunThrottleAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var retryDelay = TimeSpan.FromSeconds(5);
        await using var run = await BenchRun.CreateAsync("budget-throttle", cancellationToken);
        var emulator = await run.StartEmulatorAsync(new Dictionary<string, string?>
        {
            ["EMULATOR_LATENCY_MS"] = "300",
            ["EMULATOR_LOG_CAPACITY"] = "100000",
        }, cancellationToken);
        var env = run.SiloEnvironment(emulator);
        env["MAX_JOBS_PER_MINUTE"] = "600";
        env["QUOTA_WINDOW_SECONDS"] = "10";
        env["WORKER_CONCURRENCY"] = "4";
        await run.StartSilosAsync(2, env, cancellationToken);
        var jobs = new Jobs(run.ConnectionString);
        var tag = run.DatabaseName[6..14];
        await jobs.CopyAsync(Enumerable.Range(0, 600).Select(i => new NewJob(Jobs.NewId(tag, i), Jobs.Payload($"steady {tag} {i}"))), cancellationToken);
        await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);

        // The next claim takes this job (higher priority); its first request gets a 429 with retryDelay 5 s, its retry succeeds.
        var marker = $"throttle {tag}";
        var throttledId = Jobs.NewId(tag + "t", 0);
        await using (var connection = await jobs.OpenAsync(cancellationToken))
        {
            await Jobs.InsertOneAsync(
                connection, new NewJob(throttledId, Jobs.Payload($"[emulate:429-retry=5s-once,delay=0ms] {marker}")), cancellationToken, priority: 10);
        }

        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(60);
        while (await jobs.ScalarAsync<string>("SELECT status FROM generation_job WHERE id = @id", cancellationToken, ("id", throttledId)) != "completed")
        {
            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new TimeoutException("the throttled job did not complete within 60 s");
            }

            await Task.Delay(200, cancellationToken);
        }

        var stats = await emulator.StatsAsync(cancellationToken);
        var throttle = stats.RecentRequests.First(r => r.Status == 429 && r.PromptStart.Contains(marker, StringComparison.Ordinal));
        var after = stats.RecentRequests.Where(r => r.ArrivedAt > throttle.ArrivedAt).OrderBy(r => r.ArrivedAt).ToList();
        var duringDelay = after.Where(r => r.ArrivedAt < throttle.ArrivedAt + retryDelay).ToList();
        var inFlightWindow = TimeSpan.FromMilliseconds(100);
        var sentLater = duringDelay.Where(r => r.ArrivedAt > throttle.ArrivedAt + inFlightWindow).ToList();
        var firstAfter = after.FirstOrDefault();
        var events = await jobs.QueryAsync(
            "SELECT to_status, attempt, worker, at FROM generation_job_event WHERE job_id = @id ORDER BY id",
            r => new JobEventRow(r.GetString(0), r.GetInt32(1), r.IsDBNull(2) ? null : r.GetString(2), r.GetFieldValue<DateTimeOffset>(3)),
            cancellationToken, ("id", throttledId));
        var finalAttempts = await jobs.ScalarAsync<int>("SELECT attempts FROM generation_job WHERE id = @id", cancellationToken, ("id", throttledId));
        var retried = stats.RecentRequests.Where(r => r.PromptStart.Contains(marker, StringComparison.Ordinal) && r.Status == 200).Select(r => r.ArrivedAt).FirstOrDefault();

        var result = new FigureResult("budget-throttle");
        var table = new Table("a 429 with retryDelay 5 s during a backlog, 2 silos (budget 600 per 10 s, 4 in flight per silo, 300 ms latency)",
            "measure", "value", "target");
        table.Row("requests arriving anywhere within retryDelay after the 429", duringDelay.Count, $"0: {Figures.Verdict(duringDelay.Count == 0)}");
        table.Row("... of which more than 100 ms after it", sentLater.Count, $"0: {Figures.Verdict(sentLater.Count == 0)}");
        table.Row("... arrival offsets (ms)", string.Join(' ', duringDelay.Select(r => ((r.ArrivedAt - throttle.ArrivedAt).TotalMilliseconds).ToString("0", CultureInfo.InvariantCulture))), "");
        table.Row("first request after the 429 (s)", firstAfter is null ? null : (firstAfter.ArrivedAt - throttle.ArrivedAt).TotalSeconds, ">= 5");
        table.Row("throttled job retried after (s)", retried == default ? null : (retried - throttle.ArrivedAt).TotalSeconds, "");
        table.Row("throttled job: final status / attempts", $"completed / {finalAttempts}", $"attempts 1: {Figures.Verdict(finalAttempts == 1)}");
        result.Tables.Add(table);
        result.Notes.Add("the 429 arrival time is taken as the pause start (the directive answers it without latency); arrivals within 5 s after it are listed in the JSON.");
        result.Notes.Add("events of the throttled job: " + string.Join(" -> ", events.Select(e => $"{e.Status}(attempt {e.Attempt})")));
        result.Set("retryDelaySeconds", retryDelay.TotalSeconds);
        result.Set("throttleArrivedAt", throttle.ArrivedAt);
        result.Set("arrivalsWithinRetryDelay", duringDelay.Select(r => new { r.ArrivedAt, afterMs = (r.ArrivedAt - throttle.ArrivedAt).TotalMilliseconds, r.Status, r.PromptStart }));
        result.Set("firstArrivalAfterSeconds", firstAfter is null ? null : (firstAfter.ArrivedAt - throttle.ArrivedAt).TotalSeconds);
        result.Set("throttledJob", new { id = throttledId, finalAttempts, events });
        return result;
    }

    private static async Task<BudgetRun> MeasureAsync(
        string label, int siloCount, TimeSpan window, int windows, bool kill, CancellationToken cancellationToken)
    {
        await using var run = await BenchRun.CreateAsync(label, cancellationToken);
        var emulator = await run.StartEmulatorAsync(new Dictionary<string, string?>
        {
            ["EMULATOR_RPM"] = Budget.ToString(CultureInfo.InvariantCulture),
            ["EMULATOR_WINDOW_SECONDS"] = window.TotalSeconds.ToString(CultureInfo.InvariantCulture),
            ["EMULATOR_LATENCY_MS"] = "300-1500",
            ["EMULATOR_LOG_CAPACITY"] = "100000",
        }, cancellationToken);
        var env = run.SiloEnvironment(emulator);
        env["MAX_JOBS_PER_MINUTE"] = Budget.ToString(CultureInfo.InvariantCulture);
        env["QUOTA_WINDOW_SECONDS"] = window.TotalSeconds.ToString(CultureInfo.InvariantCulture);
        env["WORKER_CONCURRENCY"] = "20";
        var silos = await run.StartSilosAsync(siloCount, env, cancellationToken);
        var jobs = new Jobs(run.ConnectionString);
        var tag = run.DatabaseName[6..14];

        // Enough backlog that it never runs dry while measured: 2.5 requests per job on average, so 2.5x the budget.
        var jobCount = Budget * (windows + 2);
        await jobs.CopyAsync(
            Enumerable.Range(0, jobCount).Select(i => new NewJob(Jobs.NewId(tag, i), Jobs.Payload($"budget {tag} {i}", i % 4 + 1))),
            cancellationToken);

        var t0 = await FirstArrivalAsync(emulator, cancellationToken);
        KillReport? killReport = null;
        var end = t0 + window * windows;
        if (kill)
        {
            var victim = silos.FirstOrDefault(s => s.Process.LogContains("Gemini budget active"));
            var found = victim is not null;
            victim ??= silos[0];
            await DelayUntilAsync(t0 + window * 1.5, cancellationToken);
            var killedAt = DateTimeOffset.UtcNow;
            victim.Process.Kill();
            var replacement = run.StartSilo(env);
            await replacement.WaitHealthyAsync(TimeSpan.FromSeconds(120), cancellationToken);
            var healthyAfter = (DateTimeOffset.UtcNow - killedAt).TotalSeconds;
            var reactivatedOn = run.Silos.Where(s => s != victim && s.Process.LogContains("Gemini budget active")).Select(s => s.Name).ToList();
            killReport = new KillReport(
                victim.Name, found, (killedAt - t0).TotalSeconds, Math.Round(healthyAfter, 1), reactivatedOn,
                $"{victim.Name} ({(found ? "its log shows the quota grain's activation" : "quota grain not found in any log: killed silo1")}) killed -9 at {(killedAt - t0).TotalSeconds:0.0} s; " +
                $"replacement healthy {healthyAfter:0.0} s after the kill; quota grain activated again on: {string.Join(", ", reactivatedOn.DefaultIfEmpty("(no log line)"))}.");
        }

        await DelayUntilAsync(end + TimeSpan.FromSeconds(2), cancellationToken);
        var stats = await emulator.StatsAsync(cancellationToken);

        // The request log lists requests as they finish: the first one seen finished first, not necessarily arrived
        // first. The windows start at the true first arrival.
        t0 = stats.RecentRequests.Min(r => r.ArrivedAt);
        end = t0 + window * windows;
        var accepted = stats.RecentRequests.Where(r => r.Status != 429).Select(r => r.ArrivedAt).Order().ToList();
        var inSpan = accepted.Count(a => a >= t0 && a < end);
        var perWindow = CountBySlice(accepted, t0, window, windows);
        var firstWindowBySecond = CountBySlice(accepted, t0, TimeSpan.FromSeconds(1), (int)Math.Ceiling(window.TotalSeconds));
        var model = stats.Models.GetValueOrDefault(Model);
        var claims = await jobs.ScalarAsync<long>("SELECT count(*) FROM generation_job_event WHERE to_status = 'processing'", cancellationToken);
        return new BudgetRun(
            siloCount, Budget, window.TotalSeconds, windows, stats.MaxRequestsInAnyWindow, inSpan,
            Math.Round(100.0 * inSpan / (Budget * windows), 1),
            Math.Round(100.0 * perWindow.Skip(1).Sum() / (Budget * (windows - 1)), 1),
            stats.QuotaRejections, model?.Requests ?? 0, perWindow, firstWindowBySecond, claims, killReport);
    }

    /// <summary>How many of <paramref name="arrivals"/> fall in each of <paramref name="count"/> slices of <paramref name="width"/> from <paramref name="start"/>.</summary>
    private static List<int> CountBySlice(List<DateTimeOffset> arrivals, DateTimeOffset start, TimeSpan width, int count) =>
        [.. Enumerable.Range(0, count).Select(k => arrivals.Count(a => a >= start + width * k && a < start + width * (k + 1)))];

    private static async Task<DateTimeOffset> FirstArrivalAsync(EmulatorProcess emulator, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var stats = await emulator.StatsAsync(cancellationToken);
            if (stats.RecentRequests.Count > 0)
            {
                return stats.RecentRequests.Min(r => r.ArrivedAt);
            }

            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new TimeoutException("no Gemini request within 60 s of the backlog");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    private static async Task DelayUntilAsync(DateTimeOffset at, CancellationToken cancellationToken)
    {
        var wait = at - DateTimeOffset.UtcNow;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, cancellationToken);
        }
    }

    private static Table Header(string title) => new(
        title, "cluster", "max in any window", "/ budget", "utilization", "steady util.", "429s", "requests per window", "first window, per second", "target");

    private static void AddRow(Table table, string name, BudgetRun run)
    {
        var met = run.MaxInAnyWindow <= run.Budget && run.UtilizationPercent >= 95 && run.QuotaRejections == 0;
        table.Row(name, run.MaxInAnyWindow, $"{100.0 * run.MaxInAnyWindow / run.Budget:0}%", $"{run.UtilizationPercent:0.0}%",
            $"{run.SteadyUtilizationPercent:0.0}%", run.QuotaRejections, string.Join(' ', run.PerWindow),
            string.Join(' ', run.FirstWindowBySecond), $"max <= budget, >= 95%, 0 429s: {Figures.Verdict(met)}");
    }

    private static void AddDefinitions(FigureResult result, TimeSpan window)
    {
        result.Notes.Add($"max in any window: the emulator's maxRequestsInAnyWindow, the most requests (any answer) arriving within any sliding window (t - {window.TotalSeconds:0} s, t].");
        result.Notes.Add("utilization: requests the emulator accepted (not 429) arriving in [t0, t0 + k*window), t0 = the first request, divided by budget * k.");
        result.Notes.Add("steady util.: the same without the first window (whose burst of a full budget is free after an idle period).");
    }

    private sealed record BudgetRun(
        int Silos, int Budget, double WindowSeconds, int Windows, int MaxInAnyWindow, int AcceptedInSpan, double UtilizationPercent,
        double SteadyUtilizationPercent, long QuotaRejections, long Requests, List<int> PerWindow,
        List<int> FirstWindowBySecond, long Claims, KillReport? Kill);

    private sealed record KillReport(
        string Victim, bool VictimHeldQuotaGrain, double KilledAtSeconds, double ReplacementHealthyAfterSeconds,
        List<string> QuotaReactivatedOn, string Description);

    private sealed record JobEventRow(string Status, int Attempt, string? Worker, DateTimeOffset At);
}
