using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Postgres;

public sealed partial class JobCompletions
{
    [LoggerMessage(3101, LogLevel.Warning, "Writing {Count} job completions in one statement failed; writing each on its own")]
    private static partial void LogBatchFailed(ILogger logger, int count, Exception exception);

    [LoggerMessage(3102, LogLevel.Warning, "Job {JobId}: {Count} of its products no longer exist and were not linked to its assets: {ProductIds}")]
    private static partial void LogProductsMissing(ILogger logger, string jobId, int count, string productIds);

    [LoggerMessage(3103, LogLevel.Information, "Job {JobId} completed the last assets of collection {CollectionId}")]
    private static partial void LogCollectionCompleted(ILogger logger, string jobId, string collectionId);
}
