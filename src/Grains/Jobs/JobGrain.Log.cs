using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Jobs;

public sealed partial class JobGrain
{
    [LoggerMessage(1101, LogLevel.Debug, "Job {JobId} attempt {Attempt}/{MaxAttempts} started")]
    private static partial void LogStarted(ILogger logger, string jobId, int attempt, int maxAttempts);

    [LoggerMessage(1103, LogLevel.Debug, "Job {JobId} attempt {Attempt}/{MaxAttempts} completed in {DurationMs} ms")]
    private static partial void LogCompleted(ILogger logger, string jobId, int attempt, int maxAttempts, long durationMs);

    [LoggerMessage(1104, LogLevel.Warning, "Job {JobId} attempt {Attempt} failed: {Error}")]
    private static partial void LogFailed(ILogger logger, string jobId, int attempt, string error);

    [LoggerMessage(1105, LogLevel.Warning, "Job {JobId} attempt {Attempt} will be retried (now {Status}): {Error}")]
    private static partial void LogRetry(ILogger logger, string jobId, int attempt, string status, string error);

    [LoggerMessage(1106, LogLevel.Information, "Job {JobId} attempt {Attempt} given back without spending the attempt: {Why}")]
    private static partial void LogReleased(ILogger logger, string jobId, int attempt, string why);

    [LoggerMessage(1107, LogLevel.Information, "Job {JobId} attempt {Attempt} stopped: cancelled, or its lease was lost")]
    private static partial void LogAbandoned(ILogger logger, string jobId, int attempt);

    [LoggerMessage(1108, LogLevel.Warning, "Job {JobId} attempt {Attempt} lost its lease; stopping")]
    private static partial void LogLeaseLost(ILogger logger, string jobId, int attempt);

    [LoggerMessage(1110, LogLevel.Error, "Job {JobId} attempt {Attempt}: unexpected error")]
    private static partial void LogUnexpected(ILogger logger, string jobId, int attempt, Exception exception);

    [LoggerMessage(1111, LogLevel.Warning, "Job {JobId} attempt {Attempt}: writing its outcome failed; its lease expiry puts the job back")]
    private static partial void LogFinishFailed(ILogger logger, string jobId, int attempt, Exception exception);

    [LoggerMessage(1113, LogLevel.Debug, "Job {JobId} waits {DelaySeconds} s at progress {Progress}")]
    private static partial void LogSnoozed(ILogger logger, string jobId, double delaySeconds, int progress);

    [LoggerMessage(1114, LogLevel.Warning, "Job {JobId} attempt {Attempt}: the dispatcher could not be reached to report it finished; its next check frees the slot")]
    private static partial void LogDispatcherUnreachable(ILogger logger, string jobId, int attempt, Exception exception);

    [LoggerMessage(1115, LogLevel.Warning, "Job {JobId} attempt {Attempt}: renewing its lease failed; the next renewal tries again")]
    private static partial void LogRenewFailed(ILogger logger, string jobId, int attempt, Exception exception);
}
