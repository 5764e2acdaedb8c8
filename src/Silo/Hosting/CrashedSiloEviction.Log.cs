namespace GenerationWorker.Silo.Hosting;

public sealed partial class CrashedSiloEviction
{
    [LoggerMessage(EventId = 9401, Level = LogLevel.Warning, Message = "Declaring silo {Silo} dead: its port answered {Answer} and its last heartbeat was at {LastHeartbeat:O}")]
    private static partial void LogDeclaringDead(ILogger logger, SiloAddress silo, PortAnswer answer, DateTime lastHeartbeat);

    [LoggerMessage(EventId = 9402, Level = LogLevel.Information, Message = "Silo {Silo} does not answer but wrote a heartbeat at {LastHeartbeat:O}: checking it again at {CheckAgainAt:O}")]
    private static partial void LogSilentButHeartbeating(ILogger logger, SiloAddress silo, DateTime lastHeartbeat, DateTime checkAgainAt);

    [LoggerMessage(EventId = 9403, Level = LogLevel.Warning, Message = "Could not check the active members for crashed silos; joining waits for Orleans to find them stale")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
