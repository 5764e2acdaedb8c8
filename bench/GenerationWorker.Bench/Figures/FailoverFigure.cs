using GenerationWorker.Bench.Harness;
using GenerationWorker.TestSupport;

namespace GenerationWorker.Bench;

/// <summary>
/// kill -9 of a silo with jobs in flight (2 silos, the emulator answering after 5 s): for each job the killed silo held,
/// the seconds from the kill to the 'processing' event of its next claim by the other silo (generation_job_event).
/// </summary>
internal static class FailoverFigure
{
    private const int JobCount = 20;

    /// <summary>Runs the trials.</summary>
    public static async Task<FigureResult> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var trials = options.Short ? 2 : 5;
        var result = new FigureResult("failover");
        var table = new Table($"failover: kill -9 of the silo holding jobs, 2 silos, {JobCount} jobs of 5 s in flight; seconds from the kill to the next claim elsewhere",
            "trial", "jobs moved", "p50 s", "max s", "rescued (pending) p50 s", "target");
        var all = new List<double>();
        var data = new List<Trial>();
        for (var trial = 1; trial <= trials; trial++)
        {
            var measured = await MeasureAsync(trial, cancellationToken);
            data.Add(measured);
            all.AddRange(measured.ReclaimedAfterSeconds);
            table.Row(trial, measured.ReclaimedAfterSeconds.Count, Percentiles.Of(measured.ReclaimedAfterSeconds, 50),
                measured.ReclaimedAfterSeconds.DefaultIfEmpty(double.NaN).Max(), Percentiles.Of(measured.RescuedAfterSeconds, 50), "");
        }

        var p50 = Percentiles.Of(all, 50);
        var max = all.DefaultIfEmpty(double.NaN).Max();
        table.Row("all", all.Count, p50, max, Percentiles.Of(data.SelectMany(t => t.RescuedAfterSeconds).ToList(), 50),
            $"p50 <= 15, max <= 30: {Figures.Verdict(p50 <= 15 && max <= 30)}");
        result.Tables.Add(table);
        result.Notes.Add("rescued: the 'pending' event written when the survivor puts the dead silo's claims back (membership declared it dead).");
        result.Set("trials", data);
        result.Set("p50Seconds", p50);
        result.Set("maxSeconds", max);
        return result;
    }

    private static async Task<Trial> MeasureAsync(int trial, CancellationToken cancellationToken)
    {
        await using var run = await BenchRun.CreateAsync($"failover-{trial}", cancellationToken);
        var emulator = await run.StartEmulatorAsync(new Dictionary<string, string?>
        {
            ["EMULATOR_LATENCY_MS"] = "5000",
            ["EMULATOR_LOG_CAPACITY"] = "0",
        }, cancellationToken);
        var env = run.SiloEnvironment(emulator);
        env["WORKER_CONCURRENCY"] = (2 * JobCount).ToString(System.Globalization.CultureInfo.InvariantCulture);
        env["MAX_JOBS_PER_MINUTE"] = "0";
        var silos = await run.StartSilosAsync(2, env, cancellationToken);
        var jobs = new Jobs(run.ConnectionString);
        var tag = run.DatabaseName[6..14];
        await jobs.CopyAsync(Enumerable.Range(0, JobCount).Select(i => new NewJob(Jobs.NewId(tag, i), Jobs.Payload($"failover {tag} {i}"))), cancellationToken);

        await Eventually.ValueAsync(
            () => jobs.ScalarAsync<long>("SELECT count(*) FROM generation_job WHERE status = 'processing'", cancellationToken),
            processing => processing >= JobCount, TimeSpan.FromSeconds(30), "every job in flight", TimeSpan.FromMilliseconds(100));

        // Let the requests reach the emulator, then kill the silo holding the most jobs.
        await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        var holders = await jobs.QueryAsync(
            "SELECT locked_by, array_agg(id) FROM generation_job WHERE status = 'processing' GROUP BY locked_by ORDER BY count(*) DESC",
            r => (Owner: r.GetString(0), Ids: r.GetFieldValue<string[]>(1)), cancellationToken);
        var (owner, held) = holders[0];
        var victim = silos.Single(s => s.Identity == owner);
        var killedAt = DateTimeOffset.UtcNow;
        victim.Process.Kill();

        await Eventually.ValueAsync(
            () => jobs.ScalarAsync<long>(
                "SELECT count(DISTINCT job_id) FROM generation_job_event WHERE job_id = ANY(@ids) AND to_status = 'processing' AND worker <> @owner AND at > @killed",
                cancellationToken, ("ids", held), ("owner", owner), ("killed", killedAt)),
            reclaimed => reclaimed >= held.Length,
            TimeSpan.FromSeconds(150),
            $"the killed silo's {held.Length} jobs claimed again",
            TimeSpan.FromMilliseconds(200));

        var times = await jobs.QueryAsync(
            """
            SELECT job_id,
                   extract(epoch FROM min(at) FILTER (WHERE to_status = 'processing' AND worker <> @owner) - @killed)::float8,
                   extract(epoch FROM min(at) FILTER (WHERE to_status = 'pending' AND from_status = 'processing') - @killed)::float8
            FROM generation_job_event WHERE job_id = ANY(@ids) AND at > @killed GROUP BY job_id
            """,
            r => (Reclaimed: r.GetDouble(1), Rescued: r.IsDBNull(2) ? double.NaN : r.GetDouble(2)),
            cancellationToken, ("ids", held), ("owner", owner), ("killed", killedAt));
        return new Trial(
            trial, victim.Name, held.Length,
            [.. times.Select(t => Math.Round(t.Reclaimed, 2))],
            [.. times.Where(t => !double.IsNaN(t.Rescued)).Select(t => Math.Round(t.Rescued, 2))]);
    }

    private sealed record Trial(int Number, string Killed, int JobsHeld, List<double> ReclaimedAfterSeconds, List<double> RescuedAfterSeconds);
}
