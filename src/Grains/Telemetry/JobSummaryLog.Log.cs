using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Telemetry;

public sealed partial class JobSummaryLog
{
    [LoggerMessage(1701, LogLevel.Information, "Job attempts ended in the last {Seconds} s: {Ended} ({Completed} completed, {Failed} failed, {Retried} to retry, {Released} given back, {Cancelled} cancelled); {InFlight} in flight")]
    private static partial void LogSummary(
        ILogger logger, long ended, double seconds, long completed, long failed, long retried, long released, long cancelled, int inFlight);
}
