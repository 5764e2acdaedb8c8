using System.Globalization;
using GenerationWorker.Bench.Harness;
using GenerationWorker.TestSupport;

namespace GenerationWorker.Bench;

/// <summary>
/// The Gemini budget against an emulator that enforces the same limits (EMULATOR_RPM per EMULATOR_WINDOW_SECONDS =
/// MAX_JOBS_PER_MINUTE per QUOTA_WINDOW_SECONDS), with a backlog that never runs dry: the most requests in any sliding
/// window, the utilization, the 429s and the most requests in any one second, at 60, 1,500 and 6,000 requests per 10 s
/// with 3 silos and 2 s latency (<c>--short</c>: 60 per 5 s with 1, 2 and 3 silos); the same with the silo that holds
/// the quota grain killed (-9) and restarted mid-run; two models with limits of their own side by side; a 429 with
/// retryDelay sent by the emulator.
/// </summary>
internal static class BudgetFigure
{
    private const string FlashModel = "gemini-2.5-flash-image";
    private const string ProModel = "gemini-3-pro-image";

    /// <summary>The three rates (<c>--short</c>: 1, 2 and 3 silos at 60 per 5 s).</summary>
    public static Task<FigureResult> RunAsync(BenchOptions options, CancellationToken cancellationToken) =>
        RunRowsAsync("budget", options, kill: false, cancellationToken);

    /// <summary>The same with the silo that activated the quota grain killed -9 after 1.5 windows and started again.</summary>
    public static Task<FigureResult> RunKillQuotaSiloAsync(BenchOptions options, CancellationToken cancellationToken) =>
        RunRowsAsync("budget-kill-quota-silo", options, kill: true, cancellationToken);

    /// <summary>
    /// Jobs for gemini-2.5-flash-image (60 per 10 s) and gemini-3-pro-image (20 per 10 s) in equal numbers, the emulator
    /// enforcing each model's limit, the silos told both (GEMINI_MODEL_BUDGETS) and MAX_JOBS_PER_MINUTE their sum.
    /// </summary>
    public static async Task<FigureResult> RunTwoModelsAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var window = TimeSpan.FromSeconds(options.Short ? 5 : 10);
        var scenario = new BudgetScenario(
            "budget-two-models", 3, window, options.Short ? 3 : 5,
            [new ModelBudget(FlashModel, 60), new ModelBudget(ProModel, 20, ProModel)], "2000", MaxVariants: 1, Kill: false);
        var result = new FigureResult("budget-two-models");
        var table = Header($"two models side by side, 3 silos, {scenario.Windows} windows of {window.TotalSeconds:0} s from the first request, latency 2 s, " +
            $"GEMINI_MODEL_BUDGETS=\"{scenario.ModelBudgets}\", MAX_JOBS_PER_MINUTE={scenario.TotalBudget}");
        var measured = await BudgetMeasurement.MeasureAsync(scenario, cancellationToken);
        foreach (var model in measured.Models)
        {
            AddRow(table, $"{model.Model} {model.Budget}/{window.TotalSeconds:0}s", model);
        }

        table.Row("both models", "", measured.Models.Sum(m => m.QuotaRejections), "", "",
            $"{measured.SteadyRate:0.0} / {measured.EvenRate:0.0}", "", "", "", "", "sum of the rates");
        result.Tables.Add(table);
        AddNotes(result, [measured], window);
        result.Notes.Add("jobs alternate between the models (1 variant each); a gemini-3-pro-image job carries modelOverrides.imageModel at 1K quality.");
        result.Set("run", measured);
        return result;
    }

    private static async Task<FigureResult> RunRowsAsync(string name, BenchOptions options, bool kill, CancellationToken cancellationToken)
    {
        var window = TimeSpan.FromSeconds(options.Short ? 5 : 10);
        var windows = options.Short ? (kill ? 4 : 3) : 5;
        List<BudgetScenario> scenarios = options.Short
            ? [.. (kill ? [3] : new[] { 1, 2, 3 }).Select(silos =>
                new BudgetScenario($"{name}-{silos}", silos, window, windows, [new ModelBudget(FlashModel, 60)], "300-1500", MaxVariants: 4, kill))]
            : [.. Budgets().Select(budget =>
                new BudgetScenario($"{name}-{budget}", 3, window, windows, [new ModelBudget(FlashModel, budget)], "2000", budget > 60 ? 1 : 4, kill))];
        var result = new FigureResult(name);
        var table = Header($"budget per {window.TotalSeconds:0} s window, emulator enforcing the same; {windows} windows measured from the first request; " +
            (options.Short ? "latency 300-1500 ms, jobs of 1-4 variants" : "3 silos, latency 2 s, jobs of 1-4 variants at 60 and of 1 variant above") +
            (kill ? "; the quota grain's silo killed -9 at 1.5 windows and restarted" : ""));
        var runs = new List<BudgetRun>();
        foreach (var scenario in scenarios)
        {
            var measured = await BudgetMeasurement.MeasureAsync(scenario, cancellationToken);
            runs.Add(measured);
            AddRow(table, $"{scenario.TotalBudget} per {window.TotalSeconds:0} s, {scenario.Silos} silo{(scenario.Silos == 1 ? "" : "s")}", measured.Models[0]);
            if (measured.Kill is { } killed)
            {
                result.Notes.Add($"{scenario.TotalBudget} per window: {killed.Description}");
            }
        }

        result.Tables.Add(table);
        AddNotes(result, runs, window);
        result.Set("runs", runs);
        return result;
    }

    /// <summary>The budgets per 10 s of the full rows: 60, 1,500 and 6,000, or those of <c>BENCH_BUDGETS</c> (e.g. <c>1500,6000</c>).</summary>
    private static IEnumerable<int> Budgets() =>
        Environment.GetEnvironmentVariable("BENCH_BUDGETS") is { Length: > 0 } list
            ? list.Split(',').Select(b => int.Parse(b, CultureInfo.InvariantCulture))
            : [60, 1_500, 6_000];

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

        await Eventually.ValueAsync(
            () => jobs.ScalarAsync<string>("SELECT status FROM generation_job WHERE id = @id", cancellationToken, ("id", throttledId)),
            status => status == "completed", TimeSpan.FromSeconds(60), "the throttled job completes", TimeSpan.FromMilliseconds(200));

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

    private static Table Header(string title) => new(
        title, "budget", "max in any window", "429s", "utilization", "steady util.", "arrivals/s steady / even", "max in any 1 s / even",
        "max in any 1 s after window 1", "requests per window", "backlog left", "target");

    private static void AddRow(Table table, string name, ModelRun run) =>
        table.Row(name, $"{run.MaxInAnyWindow} / {run.Budget}", run.QuotaRejections, $"{run.UtilizationPercent:0.0}%",
            $"{run.SteadyUtilizationPercent:0.0}%", $"{run.SteadyRate:0.0} / {run.EvenRate:0.0}", $"{run.MaxInAnySecond} / {run.EvenRate:0.0}",
            run.MaxInAnySecondSteady, string.Join(' ', run.PerWindow), run.BacklogLeft,
            $"max <= budget, >= 95%, 0 429s: {Figures.Verdict(run.Met)}");

    private static void AddNotes(FigureResult result, IReadOnlyList<BudgetRun> runs, TimeSpan window)
    {
        foreach (var run in runs)
        {
            var reached = run.SteadyRate >= 0.95 * run.EvenRate;
            var cpuBound = run.Cpu.MachineBusyPercent >= 90;
            result.Notes.Add(
                $"{run.Label}: arrivals {run.SteadyRate:0.0}/s of {run.EvenRate:0.0}/s after the first window " +
                (reached ? "(rate reached)" : cpuBound ? "(rate NOT reached; the machine was CPU-bound)" : "(rate NOT reached; the machine was not CPU-bound)") +
                $"; {run.Cpu}; WORKER_CONCURRENCY {run.ConcurrencyPerSilo} per silo; {run.Requests} requests, {run.Claims} claims" +
                (run.LogComplete ? "" : "; the emulator's log dropped early requests: raise EMULATOR_LOG_CAPACITY"));
        }

        result.Notes.Add($"max in any window: the emulator's maxRequestsInAnyWindow of the model, the most requests (any answer) arriving within any sliding window (t - {window.TotalSeconds:0} s, t], over the whole run.");
        result.Notes.Add("utilization: requests the emulator accepted (not 429) arriving in [t0, t0 + k*window), t0 = the first request, divided by budget * k; steady util.: the same without the first window (whose burst of a full budget is free after an idle period).");
        result.Notes.Add("max in any 1 s: the most requests (any answer) arriving within any sliding second of the measured span, against the even rate budget / window; backlog left: the model's jobs still pending when the span ended (> 0: it never ran dry).");
    }

    private sealed record JobEventRow(string Status, int Attempt, string? Worker, DateTimeOffset At);
}
