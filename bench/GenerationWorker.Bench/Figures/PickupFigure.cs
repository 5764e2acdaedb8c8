using GenerationWorker.Bench.Harness;
using GenerationWorker.TestSupport;

namespace GenerationWorker.Bench;

/// <summary>
/// Pickup latency on an idle one-silo cluster: single inserts spaced 50 ms apart; for each, the time from the INSERT's
/// <c>clock_timestamp()</c> (just before its commit) to the emulator receiving that job's Gemini request (matched by its
/// unique prompt). Modes: LISTEN (the default) and polling only (LISTEN_ENABLED=false, POLL_INTERVAL_MS=1000).
/// </summary>
internal static class PickupFigure
{
    private const int WarmupJobs = 3;

    /// <summary>Measures every mode.</summary>
    public static async Task<FigureResult> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var count = options.Short ? 40 : 200;
        var result = new FigureResult("pickup");
        var table = new Table(
            $"pickup latency, insert commit -> Gemini request at the emulator ({count} single inserts, 50 ms apart, 1 silo)",
            "mode", "p50 ms", "p95 ms", "p99 ms", "max ms", "min ms", "insert->claim p50", "claim->request p50", "target");
        var modes = new (string Name, Dictionary<string, string?> Env, string Target)[]
        {
            ("listen", new() { ["LISTEN_ENABLED"] = "true" }, "p50 <= 5, p99 <= 20"),
            ("listen, no budget", new() { ["LISTEN_ENABLED"] = "true", ["MAX_JOBS_PER_MINUTE"] = "0" }, "(diagnostic)"),
            ("polling 1000 ms", new() { ["LISTEN_ENABLED"] = "false", ["POLL_INTERVAL_MS"] = "1000" }, "(fallback)"),
        };
        var data = new List<object>();
        foreach (var (name, env, target) in modes)
        {
            var (latencies, toClaim, claimToRequest) = await MeasureAsync(name, env, count, cancellationToken);
            var p50 = Percentiles.Of(latencies, 50);
            var p99 = Percentiles.Of(latencies, 99);
            var verdict = name == "listen" ? $"{target}: {Figures.Verdict(p50 <= 5 && p99 <= 20)}" : target;
            table.Row(name, p50, Percentiles.Of(latencies, 95), p99, latencies.Max(), latencies.Min(),
                Percentiles.Of(toClaim, 50), Percentiles.Of(claimToRequest, 50), verdict);
            data.Add(new
            {
                mode = name,
                environment = env,
                jobs = count,
                p50Ms = p50,
                p95Ms = Percentiles.Of(latencies, 95),
                p99Ms = p99,
                maxMs = latencies.Max(),
                minMs = latencies.Min(),
                insertToClaimP50Ms = Percentiles.Of(toClaim, 50),
                insertToClaimP99Ms = Percentiles.Of(toClaim, 99),
                claimToRequestP50Ms = Percentiles.Of(claimToRequest, 50),
                claimToRequestP99Ms = Percentiles.Of(claimToRequest, 99),
                latenciesMs = latencies.Select(l => Math.Round(l, 2)),
            });
        }

        result.Tables.Add(table);
        result.Notes.Add($"budget on (MAX_JOBS_PER_MINUTE=100000 per 60 s) unless marked; {WarmupJobs} warm-up jobs first, not counted; emulator answers at once.");
        result.Set("modes", data);
        return result;
    }

    private static async Task<(List<double> Latencies, List<double> ToClaim, List<double> ClaimToRequest)> MeasureAsync(
        string mode, Dictionary<string, string?> modeEnv, int count, CancellationToken cancellationToken)
    {
        await using var run = await BenchRun.CreateAsync("pickup-" + mode.Split(' ', ',')[0] + (modeEnv.ContainsKey("MAX_JOBS_PER_MINUTE") ? "-nobudget" : ""), cancellationToken);
        var emulator = await run.StartEmulatorAsync(new Dictionary<string, string?> { ["EMULATOR_LOG_CAPACITY"] = "10000" }, cancellationToken);
        var env = run.SiloEnvironment(emulator);
        env["WORKER_CONCURRENCY"] = "16";
        env["MAX_JOBS_PER_MINUTE"] = "100000";
        env["QUOTA_WINDOW_SECONDS"] = "60";
        foreach (var (key, value) in modeEnv)
        {
            env[key] = value;
        }

        await run.StartSilosAsync(1, env, cancellationToken);
        var jobs = new Jobs(run.ConnectionString);
        await using var connection = await jobs.OpenAsync(cancellationToken);
        var tag = run.DatabaseName[6..14];

        // Warm-up: the first claims JIT the path; a real silo has long done so.
        for (var i = 0; i < WarmupJobs; i++)
        {
            await Jobs.InsertOneAsync(connection, new NewJob(Jobs.NewId(tag + "w", i), Jobs.Payload($"pickup warmup {tag} {i}")), cancellationToken);
        }

        await jobs.WaitFinalAsync(WarmupJobs, TimeSpan.FromSeconds(30), cancellationToken);

        var inserted = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var start = DateTimeOffset.UtcNow;
        for (var i = 0; i < count; i++)
        {
            var due = start + TimeSpan.FromMilliseconds(50 * i) - DateTimeOffset.UtcNow;
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due, cancellationToken);
            }

            var prompt = $"pickup {tag} {i:D4}";
            inserted[prompt] = await Jobs.InsertOneAsync(connection, new NewJob(Jobs.NewId(tag, i), Jobs.Payload(prompt)), cancellationToken);
        }

        var arrived = await Eventually.ValueAsync(
            async () => (await emulator.StatsAsync(cancellationToken)).RecentRequests
                .Where(r => inserted.ContainsKey(r.PromptStart))
                .GroupBy(r => r.PromptStart)
                .ToDictionary(g => g.Key, g => g.Min(r => r.ArrivedAt), StringComparer.Ordinal),
            arrived => arrived.Count == inserted.Count,
            TimeSpan.FromSeconds(60),
            $"{mode}: every job reaches the emulator",
            TimeSpan.FromMilliseconds(250),
            arrived => $"{arrived.Count} of {inserted.Count} jobs");

        // Where the time goes: the claim's audit event splits it into wake-and-claim and start-to-request.
        var claimed = (await jobs.QueryAsync(
                "SELECT j.payload->>'prompt', min(e.at) FROM generation_job_event e JOIN generation_job j ON j.id = e.job_id WHERE e.to_status = 'processing' GROUP BY 1",
                r => (Prompt: r.GetString(0), At: r.GetFieldValue<DateTimeOffset>(1)), cancellationToken))
            .ToDictionary(c => c.Prompt, c => c.At, StringComparer.Ordinal);
        return (
            [.. inserted.Select(pair => (arrived[pair.Key] - pair.Value).TotalMilliseconds)],
            [.. inserted.Select(pair => (claimed[pair.Key] - pair.Value).TotalMilliseconds)],
            [.. inserted.Select(pair => (arrived[pair.Key] - claimed[pair.Key]).TotalMilliseconds)]);
    }
}
