using System.Globalization;
using GenerationWorker.Bench.Harness;
using GenerationWorker.TestSupport;

namespace GenerationWorker.Bench;

/// <summary>One model's limit in a budget scenario: at most <paramref name="Budget"/> requests in any window.</summary>
/// <param name="Model">The model id the emulator counts.</param>
/// <param name="Budget">Requests per window, enforced by the emulator (EMULATOR_RPM) and named to the silos.</param>
/// <param name="Override">The payload's <c>modelOverrides.imageModel</c> that routes a job to the model (at 1K), or null
/// for the silos' <c>GEMINI_MODEL</c>.</param>
internal sealed record ModelBudget(string Model, int Budget, string? Override = null);

/// <summary>
/// A budget scenario: silos and an emulator enforcing the same limits, a backlog that never runs dry, measured over
/// <see cref="Windows"/> whole windows from the first request.
/// </summary>
/// <param name="Label">The scenario's name (its log folder).</param>
/// <param name="Silos">Silo processes.</param>
/// <param name="Window">The quota window (QUOTA_WINDOW_SECONDS, EMULATOR_WINDOW_SECONDS).</param>
/// <param name="Windows">Whole windows measured.</param>
/// <param name="Models">The limit of each model; jobs alternate between them.</param>
/// <param name="LatencyMs">EMULATOR_LATENCY_MS: <c>2000</c> or <c>300-1500</c>.</param>
/// <param name="MaxVariants">Jobs have 1 to this many variants (1: every job one request).</param>
/// <param name="Kill">Kill -9 the silo holding the quota grain at 1.5 windows and start a replacement.</param>
internal sealed record BudgetScenario(
    string Label, int Silos, TimeSpan Window, int Windows, IReadOnlyList<ModelBudget> Models, string LatencyMs, int MaxVariants, bool Kill)
{
    /// <summary>Every model's budget together: the silos' MAX_JOBS_PER_MINUTE.</summary>
    public int TotalBudget => Models.Sum(m => m.Budget);

    /// <summary>The measured span.</summary>
    public TimeSpan Span => Window * Windows;

    /// <summary>The longest emulator latency.</summary>
    public TimeSpan MaxLatency => TimeSpan.FromMilliseconds(double.Parse(LatencyMs.Split('-')[^1], CultureInfo.InvariantCulture));

    /// <summary>
    /// WORKER_CONCURRENCY per silo: twice the requests in flight at the even rate (rate x latency, shared by the silos),
    /// as headroom for the time a slot is held around the request (claim, start, store, complete), and never below 20.
    /// With half again instead of twice, the slots bound the rate at 1,500 per 10 s (93% used; 95.9% with 300 per silo).
    /// </summary>
    public int ConcurrencyPerSilo => Math.Max(20, (int)Math.Ceiling(TotalBudget / Window.TotalSeconds * MaxLatency.TotalSeconds * 2 / Silos) + 10);

    /// <summary>GEMINI_MODEL_BUDGETS: <c>model=N/Ws</c> entries separated by <c>;</c>.</summary>
    public string ModelBudgets => string.Join(';', Models.Select(m => $"{m.Model}={m.Budget}/{Window.TotalSeconds:0}s"));
}

/// <summary>What one model received in a scenario's measured span.</summary>
/// <param name="Model">The model.</param>
/// <param name="Budget">Its limit per window.</param>
/// <param name="MaxInAnyWindow">The emulator's most requests (any answer) within one sliding window, over the whole run.</param>
/// <param name="QuotaRejections">The emulator's quota 429s, over the whole run.</param>
/// <param name="Accepted">Requests accepted (not 429) arriving in the measured span.</param>
/// <param name="UtilizationPercent">Accepted / (budget x windows).</param>
/// <param name="SteadyUtilizationPercent">The same without the first window.</param>
/// <param name="SteadyRate">Accepted requests per second without the first window.</param>
/// <param name="EvenRate">Budget / window, per second.</param>
/// <param name="MaxInAnySecond">The most requests (any answer) arriving within one sliding second of the span.</param>
/// <param name="MaxInAnySecondSteady">The same without the first window.</param>
/// <param name="PerWindow">Accepted requests in each window of the span.</param>
/// <param name="BacklogLeft">Jobs of the model still pending when the span ended.</param>
/// <param name="PerSecond">Accepted requests in each second of the span (the JSON's series, not printed).</param>
internal sealed record ModelRun(
    string Model, int Budget, int MaxInAnyWindow, long QuotaRejections, int Accepted, double UtilizationPercent,
    double SteadyUtilizationPercent, double SteadyRate, double EvenRate, int MaxInAnySecond, int MaxInAnySecondSteady,
    List<int> PerWindow, long BacklogLeft, List<int> PerSecond)
{
    /// <summary>At most the budget in any window, no 429, at least 95% used.</summary>
    public bool Met => MaxInAnyWindow <= Budget && QuotaRejections == 0 && UtilizationPercent >= 95;
}

/// <summary>CPU time spent during the measured span.</summary>
/// <param name="Seconds">The span's length.</param>
/// <param name="Cores">The machine's cores.</param>
/// <param name="MachineBusyPercent">Busy share of every core together (/proc/stat), or null.</param>
/// <param name="MachineStealPercent">Steal share, or null.</param>
/// <param name="Silos">CPU seconds of the silos alive at the end (a killed silo's time is lost with it).</param>
/// <param name="Emulator">CPU seconds of the emulator.</param>
/// <param name="Postgres">CPU seconds of every postgres process, or null.</param>
internal sealed record CpuSpan(
    double Seconds, int Cores, double? MachineBusyPercent, double? MachineStealPercent, double Silos, double Emulator, double? Postgres)
{
    /// <summary>The share of every core the scenario's own processes used, in percent.</summary>
    public double OwnPercent => Math.Round(100 * (Silos + Emulator + (Postgres ?? 0)) / (Seconds * Cores), 1);

    /// <summary>One line for the notes.</summary>
    public override string ToString() =>
        $"machine busy {Table.Format(MachineBusyPercent)}% of {Cores} cores, this run's processes {OwnPercent:0.0}% (steal {Table.Format(MachineStealPercent)}%); " +
        $"CPU s: silos {Silos:0.0}, emulator {Emulator:0.0}, Postgres {Table.Format(Postgres)} over {Seconds:0} s";
}

/// <summary>A scenario's figures; <paramref name="LogComplete"/> is false when the emulator's log dropped its oldest requests.</summary>
internal sealed record BudgetRun(
    string Label, int Silos, double WindowSeconds, int Windows, string LatencyMs, int ConcurrencyPerSilo, List<ModelRun> Models,
    long Requests, bool LogComplete, long Claims, CpuSpan Cpu, KillReport? Kill)
{
    /// <summary>Accepted requests per second of every model together, without the first window.</summary>
    public double SteadyRate => Models.Sum(m => m.SteadyRate);

    /// <summary>Every model's budget per second together.</summary>
    public double EvenRate => Models.Sum(m => m.EvenRate);
}

/// <summary>What happened to the silo killed mid-run.</summary>
internal sealed record KillReport(
    string Victim, bool VictimHeldQuotaGrain, double KilledAtSeconds, double ReplacementHealthyAfterSeconds,
    List<string> QuotaReactivatedOn, string Description);

/// <summary>Runs a <see cref="BudgetScenario"/> and measures it from the emulator's arrival log.</summary>
internal static class BudgetMeasurement
{
    /// <summary>Runs <paramref name="scenario"/>: start the processes, insert the backlog, measure, end everything.</summary>
    public static async Task<BudgetRun> MeasureAsync(BudgetScenario scenario, CancellationToken cancellationToken)
    {
        await using var run = await BenchRun.CreateAsync(scenario.Label, cancellationToken);
        var window = scenario.Window;
        var evenRate = scenario.TotalBudget / window.TotalSeconds;

        // The log must hold every request from the first one to the stats read after the span.
        var logCapacity = Math.Max(100_000, (int)(evenRate * (scenario.Span.TotalSeconds + 60)));
        var emulator = await run.StartEmulatorAsync(new Dictionary<string, string?>
        {
            ["EMULATOR_RPM"] = scenario.Models.Count == 1
                ? scenario.TotalBudget.ToString(CultureInfo.InvariantCulture)
                : string.Join(',', scenario.Models.Select(m => $"{m.Model}={m.Budget}")),
            ["EMULATOR_WINDOW_SECONDS"] = window.TotalSeconds.ToString(CultureInfo.InvariantCulture),
            ["EMULATOR_LATENCY_MS"] = scenario.LatencyMs,
            ["EMULATOR_IMAGE_SIZE"] = "8",
            ["EMULATOR_LOG_CAPACITY"] = logCapacity.ToString(CultureInfo.InvariantCulture),
        }, cancellationToken);
        var env = run.SiloEnvironment(emulator);
        env["LOCAL_STORAGE_DIR"] = run.MemoryStorageDirectory();
        env["MAX_JOBS_PER_MINUTE"] = scenario.TotalBudget.ToString(CultureInfo.InvariantCulture);
        env["QUOTA_WINDOW_SECONDS"] = window.TotalSeconds.ToString(CultureInfo.InvariantCulture);
        env["WORKER_CONCURRENCY"] = scenario.ConcurrencyPerSilo.ToString(CultureInfo.InvariantCulture);
        // 2 MB of the image memory budget per request in flight (GeminiGate.ExpectedBytes), so that it never binds.
        env["IMAGE_MEMORY_BUDGET_MB"] = Math.Max(512, 4 * scenario.ConcurrencyPerSilo).ToString(CultureInfo.InvariantCulture);
        if (scenario.Models.Count > 1)
        {
            env["GEMINI_MODEL_BUDGETS"] = scenario.ModelBudgets;
        }

        var silos = await run.StartSilosAsync(scenario.Silos, env, cancellationToken);
        var jobs = new Jobs(run.ConnectionString);
        var tag = run.DatabaseName[6..14];

        // Each model gets its budget times two windows more than measured (at least one request per job), so the
        // backlog never runs dry; the jobs of the models alternate.
        var jobsPerModel = scenario.Models.Max(m => m.Budget) * (scenario.Windows + 2);
        await jobs.CopyAsync(
            Enumerable.Range(0, jobsPerModel).SelectMany(i => scenario.Models.Select((model, k) => new NewJob(
                Jobs.NewId($"{tag}m{k}", i),
                Jobs.Payload($"budget {tag} {k} {i}", i % scenario.MaxVariants + 1, model.Override is null ? null : "1k", model.Override)))),
            cancellationToken);

        var t0 = await FirstArrivalAsync(emulator, cancellationToken);
        var cpuBefore = CpuReading.Take(run, emulator);
        KillReport? killReport = null;
        var end = t0 + scenario.Span;
        if (scenario.Kill)
        {
            killReport = await KillQuotaSiloAsync(run, silos, env, t0, t0 + window * 1.5, cancellationToken);
        }

        await DelayUntilAsync(end, cancellationToken);
        var cpu = CpuReading.Take(run, emulator).Since(cpuBefore);
        var backlogLeft = new List<long>();
        for (var k = 0; k < scenario.Models.Count; k++)
        {
            backlogLeft.Add(await jobs.ScalarAsync<long>(
                "SELECT count(*) FROM generation_job WHERE status = 'pending' AND id LIKE @prefix", cancellationToken,
                ("prefix", $"job_{tag}m{k}_%")));
        }

        // The log lists requests as they finish: wait for the last ones that arrived within the span, with room for a
        // machine too busy to answer on time.
        await DelayUntilAsync(end + scenario.MaxLatency + TimeSpan.FromSeconds(3), cancellationToken);
        var stats = await emulator.StatsAsync(cancellationToken);
        var claims = await jobs.ScalarAsync<long>("SELECT count(*) FROM generation_job_event WHERE to_status = 'processing'", cancellationToken);

        // The first request seen finished first, not necessarily arrived first: the windows start at the true first arrival.
        t0 = stats.RecentRequests.Min(r => r.ArrivedAt);
        var models = scenario.Models.Select((model, k) => MeasureModel(model, stats, t0, window, scenario.Windows, backlogLeft[k])).ToList();
        return new BudgetRun(
            scenario.Label, scenario.Silos, window.TotalSeconds, scenario.Windows, scenario.LatencyMs, scenario.ConcurrencyPerSilo, models,
            stats.TotalRequests, stats.RecentRequests.Count < logCapacity, claims, cpu, killReport);
    }

    private static ModelRun MeasureModel(
        ModelBudget model, EmulatorSnapshot stats, DateTimeOffset t0, TimeSpan window, int windows, long backlogLeft)
    {
        var end = t0 + window * windows;
        var steadyStart = t0 + window;
        var arrivals = stats.RecentRequests.Where(r => r.Model == model.Model && r.ArrivedAt >= t0 && r.ArrivedAt < end).ToList();
        var accepted = arrivals.Where(r => r.Status != 429).Select(r => r.ArrivedAt).Order().ToList();
        var all = arrivals.Select(r => r.ArrivedAt).Order().ToList();
        var perWindow = Enumerable.Range(0, windows)
            .Select(k => accepted.Count(a => a >= t0 + window * k && a < t0 + window * (k + 1))).ToList();
        var steadySeconds = window.TotalSeconds * (windows - 1);
        var snapshot = stats.Models.GetValueOrDefault(model.Model);
        return new ModelRun(
            model.Model, model.Budget, snapshot?.MaxRequestsInAnyWindow ?? 0, snapshot?.QuotaRejections ?? 0, accepted.Count,
            Math.Round(100.0 * accepted.Count / (model.Budget * windows), 1),
            Math.Round(100.0 * perWindow.Skip(1).Sum() / (model.Budget * (windows - 1)), 1),
            Math.Round(perWindow.Skip(1).Sum() / steadySeconds, 1),
            model.Budget / window.TotalSeconds,
            MostWithin(all, TimeSpan.FromSeconds(1)),
            MostWithin([.. all.Where(a => a >= steadyStart)], TimeSpan.FromSeconds(1)),
            perWindow, backlogLeft,
            [.. Enumerable.Range(0, (int)(window.TotalSeconds * windows)).Select(k => accepted.Count(a => a >= t0 + TimeSpan.FromSeconds(k) && a < t0 + TimeSpan.FromSeconds(k + 1)))]);
    }

    /// <summary>The most of <paramref name="sorted"/> within any interval (t - width, t].</summary>
    private static int MostWithin(List<DateTimeOffset> sorted, TimeSpan width)
    {
        var most = 0;
        var first = 0;
        for (var last = 0; last < sorted.Count; last++)
        {
            while (sorted[first] <= sorted[last] - width)
            {
                first++;
            }

            most = Math.Max(most, last - first + 1);
        }

        return most;
    }

    private static async Task<KillReport> KillQuotaSiloAsync(
        BenchRun run, IReadOnlyList<BenchSilo> silos, Dictionary<string, string?> env, DateTimeOffset t0, DateTimeOffset at,
        CancellationToken cancellationToken)
    {
        var victim = silos.FirstOrDefault(s => s.Process.LogContains("Gemini budgets active"));
        var found = victim is not null;
        victim ??= silos[0];
        await DelayUntilAsync(at, cancellationToken);
        var killedAt = DateTimeOffset.UtcNow;
        victim.Process.Kill();
        var replacement = run.StartSilo(env);
        await replacement.WaitHealthyAsync(TimeSpan.FromSeconds(120), cancellationToken);
        var healthyAfter = (DateTimeOffset.UtcNow - killedAt).TotalSeconds;
        var reactivatedOn = run.Silos.Where(s => s != victim && s.Process.LogContains("Gemini budgets active")).Select(s => s.Name).ToList();
        return new KillReport(
            victim.Name, found, (killedAt - t0).TotalSeconds, Math.Round(healthyAfter, 1), reactivatedOn,
            $"{victim.Name} ({(found ? "its log shows the quota grain's activation" : "quota grain not found in any log: killed silo1")}) killed -9 at {(killedAt - t0).TotalSeconds:0.0} s; " +
            $"replacement healthy {healthyAfter:0.0} s after the kill; quota grain activated again on: {string.Join(", ", reactivatedOn.DefaultIfEmpty("(no log line)"))}.");
    }

    private static async Task<DateTimeOffset> FirstArrivalAsync(EmulatorProcess emulator, CancellationToken cancellationToken)
    {
        var stats = await Eventually.ValueAsync(
            () => emulator.StatsAsync(cancellationToken), stats => stats.RecentRequests.Count > 0, TimeSpan.FromSeconds(60),
            "a Gemini request after the backlog", TimeSpan.FromMilliseconds(100), stats => $"{stats.TotalRequests} requests");
        return stats.RecentRequests.Min(r => r.ArrivedAt);
    }

    private static async Task DelayUntilAsync(DateTimeOffset at, CancellationToken cancellationToken)
    {
        var wait = at - DateTimeOffset.UtcNow;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, cancellationToken);
        }
    }

    /// <summary>CPU time so far of the machine and of the scenario's processes.</summary>
    private sealed record CpuReading(DateTimeOffset At, MachineCpu? Machine, Dictionary<string, double> Silos, double Emulator, double? Postgres)
    {
        public static CpuReading Take(BenchRun run, EmulatorProcess emulator) => new(
            DateTimeOffset.UtcNow,
            MachineCpu.Read(),
            run.Silos.Where(s => s.Process.CpuTime is not null).ToDictionary(s => s.Name, s => s.Process.CpuTime!.Value.TotalSeconds),
            emulator.Process.CpuTime?.TotalSeconds ?? 0,
            PostgresCpu.Seconds());

        public CpuSpan Since(CpuReading before)
        {
            var machine = Machine is { } now && before.Machine is { } then ? now.Since(then) : null;
            return new CpuSpan(
                Math.Round((At - before.At).TotalSeconds, 1),
                Environment.ProcessorCount,
                machine is null ? null : Math.Round(100 * machine.BusySeconds / machine.TotalSeconds, 1),
                machine is null ? null : Math.Round(100 * machine.StealSeconds / machine.TotalSeconds, 1),
                Math.Round(Silos.Sum(s => s.Value - before.Silos.GetValueOrDefault(s.Key)), 1),
                Math.Round(Emulator - before.Emulator, 1),
                Postgres is { } p && before.Postgres is { } q ? Math.Round(p - q, 1) : null);
        }
    }
}
