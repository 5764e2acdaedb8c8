using GenerationWorker.Bench.Harness;

namespace GenerationWorker.Bench;

/// <summary>Runs a figure by name.</summary>
internal static class Figures
{
    /// <summary>Runs <paramref name="figure"/>.</summary>
    public static Task<FigureResult> RunAsync(string figure, BenchOptions options, CancellationToken cancellationToken) => figure switch
    {
        "pickup" => PickupFigure.RunAsync(options, cancellationToken),
        "throughput" => ThroughputFigure.RunAsync(options, cancellationToken),
        "idle" => IdleFigure.RunAsync(options, cancellationToken),
        "memory" => MemoryFigure.RunAsync(options, cancellationToken),
        "budget" => BudgetFigure.RunAsync(options, cancellationToken),
        "budget-kill-quota-silo" => BudgetFigure.RunKillQuotaSiloAsync(options, cancellationToken),
        "budget-two-models" => BudgetFigure.RunTwoModelsAsync(options, cancellationToken),
        "budget-throttle" => BudgetFigure.RunThrottleAsync(options, cancellationToken),
        "failover" => FailoverFigure.RunAsync(options, cancellationToken),
        "successor" => SuccessorFigure.RunAsync(options, cancellationToken),
        "encode" => EncodeFigure.RunAsync(options, cancellationToken),
        "quota" => QuotaFigure.RunAsync(options, cancellationToken),
        _ => throw new ArgumentException("unknown figure " + figure),
    };

    /// <summary>"met" or "MISSED" for a target.</summary>
    public static string Verdict(bool met) => met ? "met" : "MISSED";
}
