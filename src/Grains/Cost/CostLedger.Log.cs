using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Cost;

/// <summary>The ledger's log lines.</summary>
public sealed partial class CostLedger
{
    [LoggerMessage(1, LogLevel.Warning, "Gemini request {RequestId} of job {JobId} ({Model}) got no answer: recorded as possibly billed, {CostUsd} USD")]
    private static partial void LogPossiblyBilled(ILogger logger, Guid requestId, string jobId, string model, decimal costUsd);

    [LoggerMessage(2, LogLevel.Warning, "Model {Model} is not in the price table (GEMINI_PRICES): its requests are priced by the '{DefaultKey}' entry")]
    private static partial void LogUnpriced(ILogger logger, string model, string defaultKey);

    [LoggerMessage(3, LogLevel.Error, "Could not record the answer of Gemini request {Request} in the cost ledger; its intent stays open")]
    private static partial void LogFinalizeFailed(ILogger logger, string request, Exception exception);
}
