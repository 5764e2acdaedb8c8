using GenerationWorker.Grains.Postgres;
using Npgsql;

namespace GenerationWorker.Silo.Hosting;

/// <summary>Applies the schema before the silo starts, waiting for a database that is still coming up.</summary>
public static partial class StartupDatabase
{
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(60);

    /// <summary>Migrates, retrying connection failures with backoff for up to a minute.</summary>
    public static async Task MigrateWithRetryAsync(SchemaMigrator migrator, string connectionString, ILogger logger)
    {
        var deadline = DateTimeOffset.UtcNow + GiveUpAfter;
        var delay = TimeSpan.FromMilliseconds(250);
        while (true)
        {
            try
            {
                var report = await migrator.MigrateAsync(connectionString, CancellationToken.None);
                LogMigrated(logger, report.AppliedNow.Count, report.AlreadyApplied.Count);
                return;
            }
            catch (NpgsqlException exception) when (exception.IsTransient && DateTimeOffset.UtcNow + delay < deadline)
            {
                LogWaiting(logger, delay.TotalMilliseconds, exception.Message);
                await Task.Delay(delay);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Schema up to date: {Applied} migrations applied now, {Present} already present")]
    private static partial void LogMigrated(ILogger logger, int applied, int present);

    [LoggerMessage(2, LogLevel.Warning, "Database not reachable yet ({Reason}); retrying in {DelayMs} ms")]
    private static partial void LogWaiting(ILogger logger, double delayMs, string reason);
}
