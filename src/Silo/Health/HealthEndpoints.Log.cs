namespace GenerationWorker.Silo.Health;

public static partial class HealthEndpoints
{
    [LoggerMessage(EventId = 9201, Level = LogLevel.Warning, Message = "/health: the database does not answer")]
    private static partial void LogDatabaseUnhealthy(ILogger logger, Exception exception);
}
