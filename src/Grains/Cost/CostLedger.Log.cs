using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Cost;

/// <summary>The ledger's log lines.</summary>
public sealed partial class CostLedger
{
    [LoggerMessage(1401, LogLevel.Warning, "Gemini request {RequestId} of job {JobId} ({Model}) got no answer: recorded as possibly billed, {CostUsd} USD")]
    private static partial void LogPossiblyBilled(ILogger logger, Guid requestId, string jobId, string model, decimal costUsd);

    [LoggerMessage(1402, LogLevel.Warning, "Model {Model} is not in the price table (GEMINI_PRICES): its requests are priced by the '{DefaultKey}' entry")]
    private static partial void LogUnpriced(ILogger logger, string model, string defaultKey);

    [LoggerMessage(1403, LogLevel.Error, "Could not record the answer of Gemini request {Request} in the cost ledger; its intent stays open")]
    private static partial void LogFinalizeFailed(ILogger logger, string request, Exception exception);

    [LoggerMessage(1404, LogLevel.Error, "Could not settle the Veo operation {OperationName} of job {JobId} in the cost ledger; its intent stays open")]
    private static partial void LogVideoSettleFailed(ILogger logger, string operationName, string jobId, Exception exception);
}
