using GenerationWorker.Grains.Storage;
using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Dispatch;

public sealed partial class WorkerLifecycle
{
    [LoggerMessage(1501, LogLevel.Information, "Draining: no new claims; waiting up to {TimeoutSeconds} s for {InFlight} jobs in flight")]
    private static partial void LogDraining(ILogger logger, int inFlight, double timeoutSeconds);

    [LoggerMessage(1502, LogLevel.Warning, "Shutdown timeout reached: giving {InFlight} jobs back to pending without spending their attempt")]
    private static partial void LogGivingBack(ILogger logger, int inFlight);

    [LoggerMessage(1503, LogLevel.Error, "Draining failed; leases will expire and put the jobs back")]
    private static partial void LogDrainFailed(ILogger logger, Exception exception);

    [LoggerMessage(1506, LogLevel.Warning, "The image store still does not answer ({Failure}); claiming nothing, probing again in {DelaySeconds} s")]
    private static partial void LogStoreStillUnreachable(ILogger logger, ImageStoreFailure failure, double delaySeconds);

    [LoggerMessage(1507, LogLevel.Information, "The image store answers: starting to claim")]
    private static partial void LogStoreAnswers(ILogger logger);
}
