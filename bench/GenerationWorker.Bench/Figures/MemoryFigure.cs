using GenerationWorker.Bench.Harness;

namespace GenerationWorker.Bench;

/// <summary>
/// Silo memory from outside (/proc/&lt;pid&gt;/status): the peak RSS (VmHWM) with 50 jobs in flight on 4K images
/// (gemini-3-pro-image, imageQuality 4k, the emulator at real sizes and 2 s latency, WORKER_CONCURRENCY=50); and the RSS
/// after 1,000 then 10,000 small jobs, to see whether it keeps growing.
/// </summary>
internal static class MemoryFigure
{
    /// <summary>Measures both.</summary>
    public static async Task<FigureResult> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var result = new FigureResult("memory");
        var inFlight = await MeasureInFlightAsync(options.Short ? 55 : 100, cancellationToken);
        var (first, total) = options.Short ? (300, 3_000) : (1_000, 10_000);
        var growth = await MeasureGrowthAsync(first, total, cancellationToken);

        var table = new Table(DotnetCounters.Tool is null
                ? "silo memory (RSS from /proc; managed heap not measured: dotnet-counters is not installed)"
                : "silo memory (RSS from /proc; managed heap from dotnet-counters)",
            "scenario", "value MB", "detail", "target");
        table.Row($"peak RSS, 50 in flight, 4K ({inFlight.Jobs} jobs{(inFlight.SiloAlive ? "" : ", SILO GONE before the end")})", inFlight.PeakRssMb,
            $"emulator max in flight {inFlight.EmulatorMaxInFlight}, avg PNG {inFlight.AveragePngKb} KB, completed {inFlight.Completed}" +
            (inFlight.PeakManagedHeapMb is { } heap ? $", peak managed heap {heap} MB, GC committed {inFlight.PeakGcCommittedMb} MB" : ""),
            $"<= 400: {Figures.Verdict(inFlight.PeakRssMb <= 400)}");
        table.Row($"RSS after {first:N0} jobs", growth.RssAfterFirstMb, $"peak {growth.PeakAfterFirstMb}; {growth.AfterFirst}", "");
        table.Row($"RSS after {total:N0} jobs", growth.RssAfterAllMb, $"peak {growth.PeakAfterAllMb}; growth {growth.GrowthPercent:0.0}%; {growth.AfterAll}",
            $"<= 5% growth: {Figures.Verdict(growth.GrowthPercent <= 5)}");
        table.Row($"RSS after {2 * total:N0} jobs", growth.RssAfterDoubleMb,
            $"peak {growth.PeakAfterDoubleMb}; growth from {total:N0}: {growth.DoubleGrowthPercent:0.0}% (a leak keeps growing; a warm-up does not); {growth.AfterDouble}", "");
        result.Tables.Add(table);
        result.Notes.Add("RSS read 3 s after the last job completed (no GC forced: the process is measured as it runs).");
        result.Notes.Add("anon: RssAnon (GC heap, native allocations, thread stacks, JIT-compiled code); file: RssFile (pages of the mapped assemblies and libraries touched so far); shmem: RssShmem (the runtime's double-mapped executable memory); threads: the process's threads.");
        result.Set("inFlight4k", inFlight);
        result.Set("growth", growth);
        return result;
    }

    private static async Task<InFlightMeasure> MeasureInFlightAsync(int count, CancellationToken cancellationToken)
    {
        await using var run = await BenchRun.CreateAsync("memory-4k", cancellationToken);
        var emulator = await run.StartEmulatorAsync(new Dictionary<string, string?>
        {
            ["EMULATOR_REAL_SIZES"] = "true",
            ["EMULATOR_LATENCY_MS"] = "2000",
            ["EMULATOR_LOG_CAPACITY"] = "0",
            ["EMULATOR_IMAGE_CACHE_MB"] = "512",
        }, cancellationToken);
        var env = run.SiloEnvironment(emulator);
        env["WORKER_CONCURRENCY"] = "50";
        env["MAX_JOBS_PER_MINUTE"] = "0";
        env["GEMINI_MODEL"] = "gemini-3-pro-image";
        var silo = (await run.StartSilosAsync(1, env, cancellationToken))[0];
        var jobs = new Jobs(run.ConnectionString);
        var tag = run.DatabaseName[6..14];
        var counters = DotnetCounters.Start(silo.Process.Pid, Path.Combine(run.LogDir, "silo1-counters.csv"));

        // One prompt: the emulator encodes the 4K PNG once and serves it from its cache.
        using var sampling = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var peakSampler = SamplePeakRssAsync(silo.Process, sampling.Token);
        await jobs.CopyAsync(
            Enumerable.Range(0, count).Select(i => new NewJob(Jobs.NewId(tag, i), Jobs.Payload("memory 4k", 1, "4k"))),
            cancellationToken);
        var completed = await jobs.WaitFinalAsync(count, TimeSpan.FromSeconds(180), cancellationToken);
        await sampling.CancelAsync();
        var sampledPeak = await peakSampler;
        var alive = !silo.Process.HasExited;
        var stats = await emulator.StatsAsync(cancellationToken);
        var averagePng = await jobs.ScalarAsync<decimal>("SELECT coalesce(avg(size_bytes), 0) FROM generation_job_output", cancellationToken);
        var peakRss = Math.Max(silo.Process.PeakRssBytes ?? 0, sampledPeak) / (1024 * 1024);
        var rss = (silo.Process.RssBytes ?? 0) / (1024 * 1024);
        long? heapMb = null;
        long? committedMb = null;
        if (counters is not null)
        {
            var (heap, committed) = await counters.StopAsync();
            (heapMb, committedMb) = (heap / (1024 * 1024), committed / (1024 * 1024));
        }

        return new InFlightMeasure(count, completed, stats.MaxInFlight, (long)averagePng / 1024, peakRss, rss, heapMb, committedMb, alive);
    }

    /// <summary>The highest VmHWM seen while the process lives (it may die before the end of the scenario).</summary>
    private static async Task<long> SamplePeakRssAsync(ChildProcess process, CancellationToken cancellationToken)
    {
        long peak = 0;
        try
        {
            while (!cancellationToken.IsCancellationRequested && !process.HasExited)
            {
                peak = Math.Max(peak, process.PeakRssBytes ?? 0);
                await Task.Delay(250, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
        }

        return Math.Max(peak, process.PeakRssBytes ?? 0);
    }

    private static async Task<GrowthMeasure> MeasureGrowthAsync(int first, int total, CancellationToken cancellationToken)
    {
        await using var run = await BenchRun.CreateAsync("memory-growth", cancellationToken);
        var emulator = await run.StartEmulatorAsync(new Dictionary<string, string?> { ["EMULATOR_LOG_CAPACITY"] = "0" }, cancellationToken);
        var env = run.SiloEnvironment(emulator);
        env["WORKER_CONCURRENCY"] = "64";
        env["MAX_JOBS_PER_MINUTE"] = "0";
        var silo = (await run.StartSilosAsync(1, env, cancellationToken))[0];
        var jobs = new Jobs(run.ConnectionString);
        var tag = run.DatabaseName[6..14];

        await jobs.CopyAsync(Enumerable.Range(0, first).Select(i => new NewJob(Jobs.NewId(tag, i), Jobs.Payload($"growth {tag} {i}"))), cancellationToken);
        await jobs.WaitFinalAsync(first, TimeSpan.FromSeconds(300), cancellationToken);
        await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);
        var rssFirst = silo.Process.RssBytes ?? 0;
        var peakFirst = silo.Process.PeakRssBytes ?? 0;
        var afterFirst = Breakdown(silo.Process);

        await jobs.CopyAsync(Enumerable.Range(first, total - first).Select(i => new NewJob(Jobs.NewId(tag, i), Jobs.Payload($"growth {tag} {i}"))), cancellationToken);
        var completed = await jobs.WaitFinalAsync(total, TimeSpan.FromSeconds(600), cancellationToken);
        await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);
        var rssAll = silo.Process.RssBytes ?? 0;
        var peakAll = silo.Process.PeakRssBytes ?? 0;
        var afterAll = Breakdown(silo.Process);

        await jobs.CopyAsync(Enumerable.Range(total, total).Select(i => new NewJob(Jobs.NewId(tag, i), Jobs.Payload($"growth {tag} {i}"))), cancellationToken);
        completed = await jobs.WaitFinalAsync(2 * total, TimeSpan.FromSeconds(600), cancellationToken);
        await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);
        var rssDouble = silo.Process.RssBytes ?? 0;
        var afterDouble = Breakdown(silo.Process);
        return new GrowthMeasure(
            first, total, completed, rssFirst / (1024 * 1024), peakFirst / (1024 * 1024), rssAll / (1024 * 1024),
            peakAll / (1024 * 1024), Math.Round(100.0 * (rssAll - rssFirst) / rssFirst, 2),
            rssDouble / (1024 * 1024), (silo.Process.PeakRssBytes ?? 0) / (1024 * 1024), Math.Round(100.0 * (rssDouble - rssAll) / rssAll, 2),
            afterFirst, afterAll, afterDouble);
    }

    /// <summary>Where the resident memory is: anonymous (heap, stacks, code) or file-backed, and the thread count.</summary>
    private static string Breakdown(ChildProcess process) =>
        $"anon {process.Status("RssAnon") / 1024} MB, file {process.Status("RssFile") / 1024} MB, shmem {process.Status("RssShmem") / 1024} MB, threads {process.Status("Threads")}";

    private sealed record InFlightMeasure(
        int Jobs, long Completed, int EmulatorMaxInFlight, long AveragePngKb, long PeakRssMb, long RssAfterMb, long? PeakManagedHeapMb,
        long? PeakGcCommittedMb, bool SiloAlive);

    private sealed record GrowthMeasure(
        int FirstJobs, int TotalJobs, long Completed, long RssAfterFirstMb, long PeakAfterFirstMb, long RssAfterAllMb,
        long PeakAfterAllMb, double GrowthPercent, long RssAfterDoubleMb, long PeakAfterDoubleMb, double DoubleGrowthPercent,
        string AfterFirst, string AfterAll, string AfterDouble);
}
