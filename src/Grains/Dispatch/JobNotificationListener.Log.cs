using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Dispatch;

public sealed partial class JobNotificationListener
{
    [LoggerMessage(1601, LogLevel.Information, "Listening for job notifications")]
    private static partial void LogListening(ILogger logger);

    [LoggerMessage(1602, LogLevel.Warning, "Job notifications lost; polling meanwhile, reconnecting in {DelayMs} ms")]
    private static partial void LogListenFailed(ILogger logger, double delayMs, Exception exception);

    [LoggerMessage(1603, LogLevel.Warning, "Could not pass a job notification to the dispatcher")]
    private static partial void LogWakeFailed(ILogger logger, Exception exception);

    [LoggerMessage(1604, LogLevel.Warning, "Job notifications are not delivered (a probe did not come back within {TimeoutSeconds} s; a transaction pooler?): polling every POLL_INTERVAL_MS meanwhile")]
    private static partial void LogNotDelivering(ILogger logger, double timeoutSeconds);

    [LoggerMessage(1605, LogLevel.Information, "Job notifications are delivered again")]
    private static partial void LogDelivering(ILogger logger);
}
