using GenerationWorker.Grains.Postgres;
using GenerationWorker.Silo.Configuration;
using Npgsql;

namespace GenerationWorker.Silo.Hosting;

/// <summary>
/// The start-up's database steps: which connection does what (probing <c>DATABASE_URL</c>), then the schema; both wait
/// for a database that is still coming up.
/// </summary>
public static partial class StartupDatabase
{
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(60);

    /// <summary>Probes <c>DATABASE_URL</c> and decides the roles, retrying connection failures for up to a minute.</summary>
    public static async Task<DatabaseRoles> ResolveRolesAsync(DatabaseSettings settings, ILogger logger)
    {
        var probed = await WithRetryAsync(() => PoolerProbe.ProbeAsync(settings.ConnectionString, CancellationToken.None), logger);
        return DatabaseRoles.Decide(settings, probed);
    }

    /// <summary>Logs the roles: the one summary line, then each warning.</summary>
    public static void LogRoles(DatabaseRoles roles, ILogger logger)
    {
        LogRolesSummary(logger, roles.Summary);
        foreach (var warning in roles.Warnings)
        {
            LogRolesWarning(logger, warning);
        }
    }

    /// <summary>Migrates, retrying connection failures with backoff for up to a minute.</summary>
    public static async Task MigrateWithRetryAsync(
        SchemaMigrator migrator, string connectionString, MigrationLocking locking, ILogger logger)
    {
        var report = await WithRetryAsync(() => migrator.MigrateAsync(connectionString, locking, CancellationToken.None), logger);
        LogMigrated(logger, report.AppliedNow.Count, report.AlreadyApplied.Count);
    }

    private static async Task<T> WithRetryAsync<T>(Func<Task<T>> step, ILogger logger)
    {
        var deadline = DateTimeOffset.UtcNow + GiveUpAfter;
        var delay = TimeSpan.FromMilliseconds(250);
        while (true)
        {
            try
            {
                return await step();
            }
            catch (NpgsqlException exception) when (exception.IsTransient && DateTimeOffset.UtcNow + delay < deadline)
            {
                LogWaiting(logger, delay.TotalMilliseconds, exception.Message);
                await Task.Delay(delay);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }
}
