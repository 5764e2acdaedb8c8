using System.Diagnostics;
using GenerationWorker.Bench.Harness;

namespace GenerationWorker.Bench;

/// <summary>
/// kill -9 of a lone silo, then a successor on other ports: seconds from the successor's process start to its first
/// /health 200, beside the same figure for the lone silo itself (a fresh start on an empty cluster, the floor).
/// </summary>
internal static class SuccessorFigure
{
    /// <summary>Runs the trials.</summary>
    public static async Task<FigureResult> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var trials = options.Short ? 2 : 5;
        var result = new FigureResult("successor");
        var table = new Table("successor: kill -9 of a lone silo, a new silo on other ports; seconds from process start to /health 200",
            "trial", "fresh start s", "successor s", "target");
        var data = new List<Trial>();
        for (var trial = 1; trial <= trials; trial++)
        {
            var measured = await MeasureAsync(trial, cancellationToken);
            data.Add(measured);
            table.Row(trial, measured.FreshSeconds, measured.SuccessorSeconds, "");
        }

        var max = data.Max(t => t.SuccessorSeconds);
        table.Row("all", Percentiles.Of([.. data.Select(t => t.FreshSeconds)], 50), Percentiles.Of([.. data.Select(t => t.SuccessorSeconds)], 50),
            $"successor max <= 5: {Figures.Verdict(max <= 5)}");
        result.Tables.Add(table);
        result.Notes.Add("all row: medians. The successor is started right after the kill, while the dead silo's row still says Active with a recent heartbeat.");
        result.Set("trials", data);
        result.Set("maxSuccessorSeconds", max);
        return result;
    }

    private static async Task<Trial> MeasureAsync(int trial, CancellationToken cancellationToken)
    {
        await using var run = await BenchRun.CreateAsync($"successor-{trial}", cancellationToken);
        var emulator = await run.StartEmulatorAsync(new Dictionary<string, string?> { ["EMULATOR_LOG_CAPACITY"] = "0" }, cancellationToken);
        var env = run.SiloEnvironment(emulator);
        var fresh = await TimeToHealthyAsync(run, env, cancellationToken);
        run.Silos[^1].Process.Kill();
        var successor = await TimeToHealthyAsync(run, env, cancellationToken);
        return new Trial(trial, Math.Round(fresh, 2), Math.Round(successor, 2));
    }

    private static async Task<double> TimeToHealthyAsync(BenchRun run, Dictionary<string, string?> env, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        var silo = run.StartSilo(env);
        await silo.WaitHealthyAsync(TimeSpan.FromSeconds(120), cancellationToken);
        return stopwatch.Elapsed.TotalSeconds;
    }

    private sealed record Trial(int Number, double FreshSeconds, double SuccessorSeconds);
}
