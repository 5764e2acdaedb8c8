using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Dispatch;

public sealed partial class DispatcherGrain
{
    [LoggerMessage(1001, LogLevel.Information, "Dispatcher {Owner} claims up to {Concurrency} jobs at once")]
    private static partial void LogStarted(ILogger logger, string owner, int concurrency);

    [LoggerMessage(1002, LogLevel.Warning, "Claiming failed; trying again shortly")]
    private static partial void LogClaimFailed(ILogger logger, Exception exception);

    [LoggerMessage(1003, LogLevel.Error, "Job {JobId} could not be started; its lease will expire and it will run again")]
    private static partial void LogStartFailed(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(1005, LogLevel.Critical, "The service is refused ({Reason}; found by silo {ReportedBy}): claiming stopped; fix the configuration and redeploy")]
    private static partial void LogFatal(ILogger logger, string reason, string reportedBy);

    [LoggerMessage(1006, LogLevel.Warning, "A call for the dispatcher of {Owner} reached silo {Silo}: this activation claims nothing and leaves")]
    private static partial void LogNotOnItsSilo(ILogger logger, string owner, string silo);

    [LoggerMessage(1007, LogLevel.Debug, "Next wake-up in {DueMs} ms")]
    private static partial void LogWakeScheduled(ILogger logger, double dueMs);

    [LoggerMessage(1009, LogLevel.Warning, "Job {JobId} could not be started (its grain's silo is unreachable); given back to run again")]
    private static partial void LogStartRejected(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(1010, LogLevel.Warning, "Job {JobId} is no longer held by this silo and never reported finished: its slot is freed")]
    private static partial void LogForgotten(ILogger logger, string jobId);

    [LoggerMessage(1011, LogLevel.Warning, "Job {JobId} is no longer held by this silo and could not be told to stop")]
    private static partial void LogStopFailed(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(1012, LogLevel.Warning, "{Failed} waiting jobs failed: Gemini {Why} (SPEND_CAP_ACTION=fail)")]
    private static partial void LogCapFailed(ILogger logger, int failed, string why);

    [LoggerMessage(1013, LogLevel.Error, "Job {JobId} could not be started; given back to run again shortly")]
    private static partial void LogStartFailedGivenBack(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(1014, LogLevel.Warning, "Releasing the claim of job {JobId} failed; its lease expiry puts it back")]
    private static partial void LogReleaseFailed(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(1016, LogLevel.Warning, "Dropping lost jobs failed (reading which in-flight jobs this silo still holds); the next check tries again")]
    private static partial void LogDropLostFailed(ILogger logger, Exception exception);

    [LoggerMessage(1017, LogLevel.Warning, "Asking whether the service is refused failed; claiming goes on until a refused request stops it")]
    private static partial void LogServiceStopUnknown(ILogger logger, Exception exception);
}
