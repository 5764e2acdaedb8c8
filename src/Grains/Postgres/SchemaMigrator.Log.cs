using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Postgres;

public sealed partial class SchemaMigrator
{
    [LoggerMessage(3001, LogLevel.Debug, "Schema migration lock acquired after {WaitedMilliseconds} ms")]
    private partial void LogLockAcquired(long waitedMilliseconds);

    [LoggerMessage(3002, LogLevel.Information, "Applying schema migration {Version} ({Name})")]
    private partial void LogApplying(int version, string name);

    [LoggerMessage(3003, LogLevel.Information, "Applied schema migration {Version} ({Name}) in {ElapsedMilliseconds} ms")]
    private partial void LogApplied(int version, string name, long elapsedMilliseconds);

    [LoggerMessage(3004, LogLevel.Information, "Database schema is up to date ({Count} migrations already applied)")]
    private partial void LogUpToDate(int count);

    [LoggerMessage(3005, LogLevel.Error, "Schema migration {Version} ({Name}) failed and is not recorded")]
    private partial void LogFailed(Exception exception, int version, string name);

    [LoggerMessage(3006, LogLevel.Warning,
        "Schema migration {Version} ({Name}) gave up waiting for a lock in attempt {Attempt} of {Attempts} ({Reason}); trying again in {PauseMilliseconds} ms")]
    private partial void LogLockTimedOut(int version, string name, int attempt, int attempts, long pauseMilliseconds, string reason);

    [LoggerMessage(3007, LogLevel.Warning,
        "Schema migration {Version} ({Name}) drops the INVALID index {Index} that a failed concurrent build left behind, to build it again")]
    private partial void LogDroppingInvalidIndex(int version, string name, string index);

    [LoggerMessage(3008, LogLevel.Information, "Another migrator holds the schema migration lock; trying again every {PollMilliseconds} ms")]
    private partial void LogLockBusy(long pollMilliseconds);

    [LoggerMessage(3009, LogLevel.Error, "Schema migration {Version} ({Name}) found no lock in {Attempts} attempts and is not recorded")]
    private partial void LogLockGaveUp(Exception exception, int version, string name, int attempts);
}
