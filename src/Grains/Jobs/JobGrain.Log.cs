using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Jobs;

public sealed partial class JobGrain
{
    [LoggerMessage(1, LogLevel.Debug, "Job {JobId} attempt {Attempt}/{MaxAttempts} started")]
    private static partial void LogStarted(ILogger logger, string jobId, int attempt, int maxAttempts);

    [LoggerMessage(3, LogLevel.Debug, "Job {JobId} attempt {Attempt}/{MaxAttempts} completed in {DurationMs} ms")]
    private static partial void LogCompleted(ILogger logger, string jobId, int attempt, int maxAttempts, long durationMs);

    [LoggerMessage(4, LogLevel.Warning, "Job {JobId} attempt {Attempt} failed: {Error}")]
    private static partial void LogFailed(ILogger logger, string jobId, int attempt, string error);

    [LoggerMessage(5, LogLevel.Warning, "Job {JobId} attempt {Attempt} will be retried (now {Status}): {Error}")]
    private static partial void LogRetry(ILogger logger, string jobId, int attempt, string status, string error);

    [LoggerMessage(6, LogLevel.Information, "Job {JobId} attempt {Attempt} given back without spending the attempt: {Why}")]
    private static partial void LogReleased(ILogger logger, string jobId, int attempt, string why);

    [LoggerMessage(7, LogLevel.Information, "Job {JobId} attempt {Attempt} stopped: cancelled, or its lease was lost")]
    private static partial void LogAbandoned(ILogger logger, string jobId, int attempt);

    [LoggerMessage(8, LogLevel.Warning, "Job {JobId} attempt {Attempt} lost its lease; stopping")]
    private static partial void LogLeaseLost(ILogger logger, string jobId, int attempt);

    [LoggerMessage(10, LogLevel.Error, "Job {JobId} attempt {Attempt}: unexpected error")]
    private static partial void LogUnexpected(ILogger logger, string jobId, int attempt, Exception exception);

    [LoggerMessage(11, LogLevel.Warning, "Job {JobId} attempt {Attempt}: a database write failed")]
    private static partial void LogFinishFailed(ILogger logger, string jobId, int attempt, Exception exception);

    [LoggerMessage(13, LogLevel.Debug, "Job {JobId} waits {DelaySeconds} s at progress {Progress}")]
    private static partial void LogSnoozed(ILogger logger, string jobId, double delaySeconds, int progress);

}
