using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Postgres;

public sealed partial class JobTableStatistics
{
    [LoggerMessage(3401, LogLevel.Information, "generation_job analyzed in {Milliseconds:0} ms: a backlog had outgrown the planner's statistics")]
    private static partial void LogAnalyzed(ILogger logger, double milliseconds);

    [LoggerMessage(3402, LogLevel.Warning, "generation_job's statistics stay stale after ANALYZE (the database user does not own the table); autovacuum alone keeps them")]
    private static partial void LogRefused(ILogger logger);

    [LoggerMessage(3403, LogLevel.Debug, "Checking generation_job's statistics failed; checking again in 5 s")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
