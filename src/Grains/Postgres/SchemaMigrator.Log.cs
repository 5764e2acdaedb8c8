using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Postgres;

public sealed partial class SchemaMigrator
{
    [LoggerMessage(1, LogLevel.Debug, "Schema migration lock acquired after {WaitedMilliseconds} ms")]
    private partial void LogLockAcquired(long waitedMilliseconds);

    [LoggerMessage(2, LogLevel.Information, "Applying schema migration {Version} ({Name})")]
    private partial void LogApplying(int version, string name);

    [LoggerMessage(3, LogLevel.Information, "Applied schema migration {Version} ({Name}) in {ElapsedMilliseconds} ms")]
    private partial void LogApplied(int version, string name, long elapsedMilliseconds);

    [LoggerMessage(4, LogLevel.Information, "Database schema is up to date ({Count} migrations already applied)")]
    private partial void LogUpToDate(int count);

    [LoggerMessage(5, LogLevel.Error, "Schema migration {Version} ({Name}) failed and was rolled back")]
    private partial void LogFailed(Exception exception, int version, string name);
}
