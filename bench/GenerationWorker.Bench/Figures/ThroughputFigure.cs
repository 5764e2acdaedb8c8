using GenerationWorker.Bench.Harness;

namespace GenerationWorker.Bench;

/// <summary>
/// The machinery alone: a backlog of one-variant jobs inserted with one COPY in one transaction while one idle silo
/// runs, the emulator answering at once with small images, no Gemini budget (MAX_JOBS_PER_MINUTE=0). Jobs per second
/// from the first claim to the last completion: count / (max(completed_at) - min(started_at)). Local storage at several
/// WORKER_CONCURRENCY settings, then the S3 server at the best one.
/// </summary>
internal static class ThroughputFigure
{
    private static readonly int[] Concurrencies = [64, 128, 256];

    /// <summary>Measures every setting.</summary>
    public static async Task<FigureResult> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var count = options.Short ? 2_000 : 20_000;
        var result = new FigureResult("throughput");
        var table = new Table(
            $"throughput, {count:N0} one-variant jobs, 1 silo, no budget, emulator at once (64 px images)",
            "storage", "concurrency", "jobs/s", "span s", "completed", "silo CPU s", "emulator CPU s", "silo peak RSS MB", "target");
        var runs = new List<Measured>();
        foreach (var concurrency in Concurrencies)
        {
            var measured = await MeasureAsync("local", concurrency, count, s3: false, cancellationToken);
            runs.Add(measured);
            Console.WriteLine($"  local, concurrency {concurrency}: {measured.JobsPerSecond:0} jobs/s");
        }

        var best = runs.MaxBy(r => r.JobsPerSecond)!;
        var s3Run = await MeasureAsync("s3rver", best.Concurrency, options.Short ? 500 : 2_000, s3: true, cancellationToken);
        runs.Add(s3Run);
        foreach (var run in runs)
        {
            var target = run.Storage == "local" && run == best
                ? $">= 2,000: {Figures.Verdict(run.JobsPerSecond >= 2000)}"
                : "";
            table.Row(run.Storage, run.Concurrency, run.JobsPerSecond, run.SpanSeconds, $"{run.Completed}/{run.Jobs}",
                run.SiloCpuSeconds, run.EmulatorCpuSeconds, run.SiloPeakRssMb, target);
        }

        result.Tables.Add(table);
        result.Notes.Add($"best local setting: WORKER_CONCURRENCY={best.Concurrency}; the S3 run uses it with {s3Run.Jobs:N0} jobs (the S3 server is a node process on the same 2 cores).");
        result.Notes.Add("jobs inserted with one COPY in one transaction while the silo was running and idle (it wakes on the commit's notification).");
        result.Notes.Add("CPU s: user+system seconds the process used over the whole run (start-up included); the emulator and Postgres share the same cores.");
        result.Set("runs", runs);
        result.Set("bestLocal", best);
        return result;
    }

    private static async Task<Measured> MeasureAsync(string storage, int concurrency, int count, bool s3, CancellationToken cancellationToken)
    {
        await using var run = await BenchRun.CreateAsync($"throughput-{storage}-{concurrency}", cancellationToken);
        var emulator = await run.StartEmulatorAsync(new Dictionary<string, string?> { ["EMULATOR_LOG_CAPACITY"] = "0" }, cancellationToken);
        var env = run.SiloEnvironment(emulator);
        env["WORKER_CONCURRENCY"] = concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env["MAX_JOBS_PER_MINUTE"] = "0";
        if (s3)
        {
            foreach (var (key, value) in await run.StartS3Async(cancellationToken))
            {
                env[key] = value;
            }
        }

        var silo = (await run.StartSilosAsync(1, env, cancellationToken))[0];
        var jobs = new Jobs(run.ConnectionString);
        var tag = run.DatabaseName[6..14];
        await jobs.CopyAsync(
            Enumerable.Range(0, count).Select(i => new NewJob(Jobs.NewId(tag, i), Jobs.Payload($"throughput {tag} {i}"))),
            cancellationToken);
        var completed = await jobs.WaitFinalAsync(count, TimeSpan.FromSeconds(Math.Max(120, count / 20.0)), cancellationToken);
        var span = await jobs.ScalarAsync<double>(
            "SELECT extract(epoch FROM max(completed_at) - min(started_at))::float8 FROM generation_job WHERE status = 'completed'",
            cancellationToken);
        var done = await jobs.ScalarAsync<long>("SELECT count(*) FROM generation_job WHERE status = 'completed'", cancellationToken);
        return new Measured(
            storage, concurrency, count, done, completed, Math.Round(span, 2), span > 0 ? Math.Round(done / span, 1) : 0,
            Math.Round(silo.Process.CpuTime?.TotalSeconds ?? 0, 1), Math.Round(emulator.Process.CpuTime?.TotalSeconds ?? 0, 1),
            (silo.Process.PeakRssBytes ?? 0) / (1024 * 1024), await jobs.StatusCountsAsync(cancellationToken));
    }

    private sealed record Measured(
        string Storage, int Concurrency, int Jobs, long Completed, long Final, double SpanSeconds, double JobsPerSecond,
        double SiloCpuSeconds, double EmulatorCpuSeconds, long SiloPeakRssMb, Dictionary<string, long> Statuses);
}
