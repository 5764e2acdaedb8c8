namespace GenerationWorker.Silo.Hosting;

public static partial class StartupDatabase
{
    [LoggerMessage(9001, LogLevel.Information, "Schema up to date: {Applied} migrations applied now, {Present} already present")]
    private static partial void LogMigrated(ILogger logger, int applied, int present);

    [LoggerMessage(9002, LogLevel.Warning, "Database not reachable yet ({Reason}); retrying in {DelayMs} ms")]
    private static partial void LogWaiting(ILogger logger, double delayMs, string reason);

    [LoggerMessage(9003, LogLevel.Information, "{DatabaseRoles}")]
    private static partial void LogRolesSummary(ILogger logger, string databaseRoles);

    [LoggerMessage(9004, LogLevel.Warning, "{DatabaseWarning}")]
    private static partial void LogRolesWarning(ILogger logger, string databaseWarning);
}
