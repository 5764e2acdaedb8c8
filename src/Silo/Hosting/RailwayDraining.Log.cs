namespace GenerationWorker.Silo.Hosting;

public static partial class RailwayDraining
{
    [LoggerMessage(EventId = 9301, Level = LogLevel.Warning, Message = "{Warning}")]
    private static partial void LogDrainingTooShort(ILogger logger, string warning);
}
