using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Rescue;

/// <remarks>
/// 3301 and 3302 were <c>DispatcherGrain</c>'s 1004 and 1015, 3303 and 3304 <c>WorkerLifecycle</c>'s 1504 and 1505,
/// with the same messages; those ids are retired.
/// </remarks>
public sealed partial class Rescuer
{
    [LoggerMessage(3301, LogLevel.Warning, "Job {JobId} rescued ({Reason}): now {Status}")]
    private static partial void LogRescued(ILogger logger, string jobId, string status, string reason);

    [LoggerMessage(3302, LogLevel.Warning, "Rescuing expired leases failed; the next check tries again")]
    private static partial void LogRescueExpiredFailed(ILogger logger, Exception exception);

    [LoggerMessage(3303, LogLevel.Warning, "Job {JobId} rescued from a dead silo: now {Status}")]
    private static partial void LogRescuedFromDeadSilo(ILogger logger, string jobId, string status);

    [LoggerMessage(3304, LogLevel.Warning, "Rescuing a dead silo's jobs failed; lease expiry will put them back")]
    private static partial void LogRescueDeadFailed(ILogger logger, Exception exception);

    [LoggerMessage(3305, LogLevel.Warning, "Telling the quota grain that silos died failed; their leased permits close at the next try")]
    private static partial void LogClosePermitsFailed(ILogger logger, Exception exception);
}
