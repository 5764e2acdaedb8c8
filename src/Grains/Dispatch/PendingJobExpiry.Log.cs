using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Dispatch;

public sealed partial class PendingJobExpiry
{
    [LoggerMessage(1801, LogLevel.Information, "Pending jobs never claimed expire {Minutes} minutes after their creation")]
    private static partial void LogEnabled(ILogger logger, int minutes);

    [LoggerMessage(1802, LogLevel.Warning, "Job {JobId} failed: expired after {Minutes} minutes without being claimed")]
    private static partial void LogExpired(ILogger logger, string jobId, int minutes);

    [LoggerMessage(1803, LogLevel.Warning, "Expiring pending jobs failed; trying again at the next run")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
