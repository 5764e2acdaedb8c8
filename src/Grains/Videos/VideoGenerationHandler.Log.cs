using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Videos;

public sealed partial class VideoGenerationHandler
{
    [LoggerMessage(2601, LogLevel.Information, "Job {JobId}: Veo {Model} operation {OperationName} started")]
    private static partial void LogStarted(ILogger logger, string jobId, string operationName, string model);

    [LoggerMessage(2602, LogLevel.Warning, "Job {JobId}: the outcome of its Veo start is unknown ({Why}); it is not started again")]
    private static partial void LogStartUnknown(ILogger logger, string jobId, string why);

    [LoggerMessage(2603, LogLevel.Information, "Job {JobId}: poll of Veo operation {OperationName} failed ({Failure}); polling again later")]
    private static partial void LogPollFailed(ILogger logger, string jobId, string operationName, string failure);

    [LoggerMessage(2604, LogLevel.Information, "Job {JobId}: the video's download failed ({Failure}); downloading again later")]
    private static partial void LogDownloadRetry(ILogger logger, string jobId, string failure);

    [LoggerMessage(2605, LogLevel.Warning, "Job {JobId}: the video's upload failed; uploading again later")]
    private static partial void LogUploadRetry(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(2606, LogLevel.Information, "Job {JobId}: video stored at {Key} ({Bytes} bytes)")]
    private static partial void LogStored(ILogger logger, string jobId, string key, long bytes);

    [LoggerMessage(2607, LogLevel.Warning, "Job {JobId}: recording operation {OperationName} failed (try {Try}); trying again")]
    private static partial void LogRecordRetry(ILogger logger, string jobId, string operationName, int @try, Exception exception);
}
