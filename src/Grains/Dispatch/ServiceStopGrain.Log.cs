using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Dispatch;

public sealed partial class ServiceStopGrain
{
    [LoggerMessage(2001, LogLevel.Critical, "Silo {ReportedBy} found the service refused ({Reason}): telling the {Silos} active silos to stop claiming; fix the configuration and redeploy")]
    private static partial void LogStopped(ILogger logger, string reportedBy, string reason, int silos);
}
