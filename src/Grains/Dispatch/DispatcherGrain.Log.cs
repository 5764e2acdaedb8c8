using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Dispatch;

public sealed partial class DispatcherGrain
{
    [LoggerMessage(1, LogLevel.Information, "Dispatcher {Owner} claims up to {Concurrency} jobs at once")]
    private static partial void LogStarted(ILogger logger, string owner, int concurrency);

    [LoggerMessage(2, LogLevel.Warning, "Claiming failed; trying again shortly")]
    private static partial void LogClaimFailed(ILogger logger, Exception exception);

    [LoggerMessage(3, LogLevel.Error, "Job {JobId} could not be started; its lease will expire and it will run again")]
    private static partial void LogStartFailed(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(9, LogLevel.Warning, "Job {JobId} could not be started (its grain's silo is unreachable); given back to run again")]
    private static partial void LogStartRejected(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(4, LogLevel.Warning, "Job {JobId} rescued ({Reason}): now {Status}")]
    private static partial void LogRescued(ILogger logger, string jobId, string status, string reason);

    [LoggerMessage(6, LogLevel.Warning, "A call for the dispatcher of {Owner} reached silo {Silo}: this activation claims nothing and leaves")]
    private static partial void LogNotOnItsSilo(ILogger logger, string owner, string silo);

    [LoggerMessage(5, LogLevel.Critical, "The service is refused ({Reason}; found by silo {ReportedBy}): claiming stopped; fix the configuration and redeploy")]
    private static partial void LogFatal(ILogger logger, string reason, string reportedBy);

    [LoggerMessage(6, LogLevel.Debug, "Budget granted {Granted} of {Wanted} requests (retry at {RetryAt}, paused {Paused})")]
    private static partial void LogGrant(ILogger logger, int granted, int wanted, DateTimeOffset? retryAt, bool paused);

    [LoggerMessage(7, LogLevel.Debug, "Next wake-up in {DueMs} ms")]
    private static partial void LogWakeScheduled(ILogger logger, double dueMs);

    [LoggerMessage(8, LogLevel.Debug, "Standing budget granted {Granted} of {Wanted} requests (paused {Paused})")]
    private static partial void LogStandingGrant(ILogger logger, int granted, int wanted, bool paused);

    [LoggerMessage(10, LogLevel.Warning, "Job {JobId} is no longer held by this silo and never reported finished: its slot is freed")]
    private static partial void LogForgotten(ILogger logger, string jobId);

    [LoggerMessage(11, LogLevel.Warning, "Job {JobId} is no longer held by this silo and could not be told to stop")]
    private static partial void LogStopFailed(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(12, LogLevel.Warning, "{Failed} waiting jobs failed: Gemini {Why} (SPEND_CAP_ACTION=fail)")]
    private static partial void LogCapFailed(ILogger logger, int failed, string why);
}
