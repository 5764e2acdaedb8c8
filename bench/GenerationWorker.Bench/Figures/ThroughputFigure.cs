using GenerationWorker.Bench.Harness;
using GenerationWorker.TestSupport;

namespace GenerationWorker.Bench;

/// <summary>
/// The machinery alone: a backlog of one-variant jobs inserted with one COPY in one transaction while one idle silo
/// runs, the emulator answering at once with small images, no Gemini budget (MAX_JOBS_PER_MINUTE=0). Jobs per second
/// from the first claim to the last completion: count / (max(completed_at) - min(started_at)). Local storage at several
/// WORKER_CONCURRENCY settings, then the S3 server at the best one. Each run first passes a warm-up batch of a tenth as
/// many jobs through the same processes, measured on its own.
/// </summary>
/// <remarks>
/// The local runs write the images to memory-backed <c>/dev/shm</c> when the machine has it: the figure is the
/// machinery's, not the file system's. One more run at the best setting writes them to the disk's temporary directory,
/// to show that cost.
/// </remarks>
internal static class ThroughputFigure
{
    /// <summary>The WORKER_CONCURRENCY settings tried; <c>BENCH_CONCURRENCIES=64,128</c> overrides them.</summary>
    private static readonly int[] Concurrencies =
        Environment.GetEnvironmentVariable("BENCH_CONCURRENCIES") is { Length: > 0 } list
            ? [.. list.Split(',').Select(v => int.Parse(v, System.Globalization.CultureInfo.InvariantCulture))]
            : [64, 128, 256];

    /// <summary>The warm-up batch's jobs: their ids start with <c>job_warm</c>.</summary>
    private const string WarmupPrefix = "warm";

    private const string WarmupRows = "starts_with(id, 'job_" + WarmupPrefix + "')";

    /// <summary>Where the local runs store images: memory-backed when the machine has it.</summary>

    /// <summary>Measures every setting.</summary>
    public static async Task<FigureResult> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var count = options.Short ? 2_000 : 20_000;
        var result = new FigureResult("throughput");
        var table = new Table(
            $"throughput, {count:N0} one-variant jobs, 1 silo, no budget, emulator at once (64 px images)",
            "storage", "concurrency", "jobs/s", "span s", "completed", "silo CPU s", "emulator CPU s", "Postgres CPU s",
            "CPU ms/job", "silo peak RSS MB", "warm-up jobs/s", "speed probe ms", "target");
        var runs = new List<Measured>();
        var local = BenchRun.MemoryRoot is null ? "local" : "local, memory";
        foreach (var concurrency in Concurrencies)
        {
            var measured = await MeasureAsync(local, concurrency, count, s3: false, inMemory: true, cancellationToken);
            runs.Add(measured);
            Console.WriteLine($"  {local}, concurrency {concurrency}: {measured.JobsPerSecond:0} jobs/s");
        }

        var best = runs.MaxBy(r => r.JobsPerSecond)!;
        Measured? s3Run = null;
        if (Environment.GetEnvironmentVariable("BENCH_LOCAL_ONLY") != "1")
        {
            if (BenchRun.MemoryRoot is not null)
            {
                runs.Add(await MeasureAsync("local, disk", best.Concurrency, count, s3: false, inMemory: false, cancellationToken));
            }

            s3Run = await MeasureAsync("s3rver", best.Concurrency, options.Short ? 500 : 2_000, s3: true, inMemory: false, cancellationToken);
            runs.Add(s3Run);
        }

        foreach (var run in runs)
        {
            var target = run == best
                ? $">= 2,000: {Figures.Verdict(run.JobsPerSecond >= 2000)}"
                : "";
            var cpuPerJob = (run.SiloCpuSeconds + run.EmulatorCpuSeconds + (run.PostgresCpuSeconds ?? 0)) * 1000 / Math.Max(run.Completed, 1);
            table.Row(run.Storage, run.Concurrency, run.JobsPerSecond, run.SpanSeconds, $"{run.Completed}/{run.Jobs}",
                run.SiloCpuSeconds, run.EmulatorCpuSeconds, run.PostgresCpuSeconds?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-",
                Math.Round(cpuPerJob, 2), run.SiloPeakRssMb, run.WarmupJobs > 0 ? $"{run.WarmupJobsPerSecond:0} ({run.WarmupJobs:N0} jobs)" : "-", run.SpeedProbeMs, target);
        }

        result.Tables.Add(table);
        var costs = new Table($"statements during the best local run (pg_stat_statements, {best.Completed:N0} jobs)",
            "calls/job", "mean ms", "total ms", "rows", "statement");
        foreach (var statement in best.Statements)
        {
            costs.Row(statement.CallsPerJob, statement.MeanMs, statement.TotalMs, statement.Rows, statement.Query);
        }

        result.Tables.Add(costs);
        var plan = await ExplainClaimAsync(count, best.Concurrency, cancellationToken);
        result.Set("explainClaim", plan);
        result.Notes.Add("EXPLAIN ANALYZE of the peek and the claim over the whole backlog: " +
            string.Join("; ", plan.Where(l => l.StartsWith("--", StringComparison.Ordinal) || l.StartsWith("Execution Time", StringComparison.Ordinal))));
        result.Notes.Add(s3Run is null
            ? $"best local setting: WORKER_CONCURRENCY={best.Concurrency}; the disk and S3 runs were skipped (BENCH_LOCAL_ONLY=1)."
            : $"best local setting: WORKER_CONCURRENCY={best.Concurrency}; the S3 run uses it with {s3Run.Jobs:N0} jobs (the S3 server is a node process on the same 2 cores).");
        if (best.PostgresCpuSeconds is { } postgres && best.Completed > 0)
        {
            double PerJob(double seconds) => seconds * 1000 / best.Completed;
            var service = PerJob(best.SiloCpuSeconds) + PerJob(postgres);
            result.Notes.Add(
                $"CPU per job in the best local run: silo {PerJob(best.SiloCpuSeconds):0.00} ms, Postgres {PerJob(postgres):0.00} ms, " +
                $"emulator {PerJob(best.EmulatorCpuSeconds):0.00} ms. Derived, not measured: with the emulator's share off these " +
                $"{Environment.ProcessorCount} cores (Gemini does not run beside the service), they would allow " +
                $"{Environment.ProcessorCount * 1000 / service:N0} jobs/s.");
        }

        result.Notes.Add("jobs inserted with one COPY in one transaction while the silo was running and idle (it wakes on the commit's notification), " +
            "after a warm-up batch of a tenth as many through the same silo and emulator (JIT, tiered compilation, pools); the warm-up's own rate is in its column.");
        result.Notes.Add("CPU s: user+system seconds each used from the COPY to the last completion (start-up excluded); Postgres: every postgres process (its pooled backends stay open through the run). CPU ms/job: the three together per completed job; 2 cores give 2,000 CPU ms per second, so 2,000 jobs/s needs at most 1 ms per job in all.");
        result.Notes.Add("speed probe ms: SHA-256 of 64 MiB on one core just before and just after the measured batch (lower is faster); on a shared virtual machine it moves with the figures.");
        result.Set("runs", runs);
        result.Set("bestLocal", best);
        return result;
    }

    private static async Task<Measured> MeasureAsync(
        string storage, int concurrency, int count, bool s3, bool inMemory, CancellationToken cancellationToken)
    {
        await using var run = await BenchRun.CreateAsync($"throughput-{concurrency}", cancellationToken);
        var emulator = await run.StartEmulatorAsync(new Dictionary<string, string?> { ["EMULATOR_LOG_CAPACITY"] = "0" }, cancellationToken);
        var env = run.SiloEnvironment(emulator);
        if (inMemory)
        {
            env["LOCAL_STORAGE_DIR"] = run.MemoryStorageDirectory();
        }

        return await MeasureAsync(run, emulator, env, storage, concurrency, count, s3, cancellationToken);
    }

    private static async Task<Measured> MeasureAsync(
        BenchRun run, EmulatorProcess emulator, Dictionary<string, string?> env, string storage, int concurrency, int count, bool s3,
        CancellationToken cancellationToken)
    {
        env["WORKER_CONCURRENCY"] = concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env["MAX_JOBS_PER_MINUTE"] = "0";
        if (s3)
        {
            foreach (var (key, value) in await run.StartS3Async(cancellationToken))
            {
                env[key] = value;
            }
        }

        var jobs = new Jobs(run.ConnectionString);
        await jobs.ExecuteAsync("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", cancellationToken);
        var silo = (await run.StartSilosAsync(1, env, cancellationToken))[0];
        var tag = run.DatabaseName[6..14];
        // A warm-up batch first, through the same silo and emulator: the figure is the running service's, after the JIT,
        // tiered compilation and the pools have settled, not the first seconds of a fresh process.
        var warmup = Environment.GetEnvironmentVariable("BENCH_WARMUP_JOBS") is { Length: > 0 } setting
            ? int.Parse(setting, System.Globalization.CultureInfo.InvariantCulture)
            : count / 10;
        var warmupRate = 0.0;
        if (warmup > 0)
        {
            await jobs.CopyAsync(
                Enumerable.Range(0, warmup).Select(i => new NewJob(Jobs.NewId(WarmupPrefix + tag, i), Jobs.Payload($"warm-up {tag} {i}"))),
                cancellationToken);
            await jobs.WaitFinalAsync(warmup, TimeSpan.FromSeconds(Math.Max(120, warmup / 20.0)), cancellationToken);
            var warmupSpan = await jobs.ScalarAsync<double>(
                $"SELECT extract(epoch FROM max(completed_at) - min(started_at))::float8 FROM generation_job WHERE {WarmupRows}",
                cancellationToken);
            warmupRate = warmupSpan > 0 ? Math.Round(warmup / warmupSpan, 1) : 0;
        }

        await jobs.ExecuteAsync(
            "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)", cancellationToken);

        var probeBefore = Machine.ProbeSpeedMs();
        var postgresBefore = PostgresCpu.Seconds();
        var siloBefore = silo.Process.CpuTime?.TotalSeconds ?? 0;
        var emulatorBefore = emulator.Process.CpuTime?.TotalSeconds ?? 0;
        await jobs.CopyAsync(
            Enumerable.Range(0, count).Select(i => new NewJob(Jobs.NewId(tag, i), Jobs.Payload($"throughput {tag} {i}"))),
            cancellationToken);
        var completed = await jobs.WaitFinalAsync(warmup + count, TimeSpan.FromSeconds(Math.Max(120, count / 20.0)), cancellationToken) - warmup;
        var postgresCpu = PostgresCpu.Seconds() - postgresBefore;
        var probeAfter = Machine.ProbeSpeedMs();
        var span = await jobs.ScalarAsync<double>(
            $"SELECT extract(epoch FROM max(completed_at) - min(started_at))::float8 FROM generation_job WHERE status = 'completed' AND NOT {WarmupRows}",
            cancellationToken);
        var done = await jobs.ScalarAsync<long>(
            $"SELECT count(*) FROM generation_job WHERE status = 'completed' AND NOT {WarmupRows}", cancellationToken);
        var statements = await jobs.QueryAsync(
            """
            SELECT query, calls, total_exec_time, mean_exec_time, rows FROM pg_stat_statements
            WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND query NOT ILIKE '%pg_stat_statements%' AND query NOT ILIKE 'COPY%'
            ORDER BY total_exec_time DESC LIMIT 12
            """,
            r => new StatementCost(Shorten(r.GetString(0)), r.GetInt64(1), Math.Round(r.GetDouble(2), 1), Math.Round(r.GetDouble(3), 3),
                Math.Round((double)r.GetInt64(1) / Math.Max(done, 1), 2), r.GetInt64(4)),
            cancellationToken);
        return new Measured(
            storage, concurrency, count, done, completed, Math.Round(span, 2), span > 0 ? Math.Round(done / span, 1) : 0,
            Math.Round((silo.Process.CpuTime?.TotalSeconds ?? 0) - siloBefore, 1),
            Math.Round((emulator.Process.CpuTime?.TotalSeconds ?? 0) - emulatorBefore, 1),
            postgresCpu is { } seconds ? Math.Round(seconds, 1) : null, (silo.Process.PeakRssBytes ?? 0) / (1024 * 1024), warmup, warmupRate,
            $"{probeBefore} / {probeAfter}", await jobs.StatusCountsAsync(cancellationToken), statements);
    }

    /// <summary>EXPLAIN ANALYZE of the claim and the peek over a backlog of <paramref name="count"/> pending jobs.</summary>
    private static async Task<List<string>> ExplainClaimAsync(int count, int limit, CancellationToken cancellationToken)
    {
        await using var run = await BenchRun.CreateAsync("throughput-explain", cancellationToken);
        var migrate = await SiloProcess.RunToExitAsync(["migrate"], new Dictionary<string, string?> { ["DATABASE_URL"] = run.ConnectionString });
        if (migrate.ExitCode != 0)
        {
            throw new InvalidOperationException("migrate failed: " + migrate);
        }

        var jobs = new Jobs(run.ConnectionString);
        await jobs.CopyAsync(Enumerable.Range(0, count).Select(i => new NewJob(Jobs.NewId("x", i), Jobs.Payload($"explain {i}"))), cancellationToken);
        await jobs.ExecuteAsync("ANALYZE generation_job", cancellationToken);
        var lines = new List<string>();
        foreach (var name in new[] { "JobPeekCandidates", "JobClaim" })
        {
            var sql = File.ReadAllText(Path.Combine(Repo.Root, "sql", "queries", name + ".sql"))
                .Replace("@Owner", "'bench'", StringComparison.Ordinal)
                .Replace("@Limit", limit.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("@Budget", limit.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("@LeaseSeconds", "60", StringComparison.Ordinal)
                .Replace("@PerClient", "4", StringComparison.Ordinal)
                .Replace("@Clients", "64", StringComparison.Ordinal)
                .Replace("@After", "''", StringComparison.Ordinal)
                .Replace("@Skip", "ARRAY[]::text[]", StringComparison.Ordinal);
            await using var connection = await jobs.OpenAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using var command = new Npgsql.NpgsqlCommand("EXPLAIN (ANALYZE, BUFFERS) " + sql, connection, transaction);
            lines.Add($"-- {name} (limit {limit}, {count:N0} pending)");
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    lines.Add(reader.GetString(0));
                }
            }

            await transaction.RollbackAsync(cancellationToken);
        }

        return lines;
    }

    private static string Shorten(string query)
    {
        var flat = string.Join(' ', query.Split((char[])['\n', '\r', '\t', ' '], StringSplitOptions.RemoveEmptyEntries));
        return flat.Length <= 90 ? flat : flat[..90] + "...";
    }

    private sealed record StatementCost(string Query, long Calls, double TotalMs, double MeanMs, double CallsPerJob, long Rows);

    private sealed record Measured(
        string Storage, int Concurrency, int Jobs, long Completed, long Final, double SpanSeconds, double JobsPerSecond,
        double SiloCpuSeconds, double EmulatorCpuSeconds, double? PostgresCpuSeconds, long SiloPeakRssMb, int WarmupJobs, double WarmupJobsPerSecond,
        string SpeedProbeMs, Dictionary<string, long> Statuses,
        List<StatementCost> Statements);
}
