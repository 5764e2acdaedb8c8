using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace GenerationWorker.Grains.Postgres;

/// <summary>
/// Keeps the planner's statistics of generation_job current when a backlog arrives: every <see cref="Interval"/> it
/// asks whether a partial index of pending or processing rows has quadrupled since the last ANALYZE
/// (JobStatisticsStale), and analyzes the table when one has.
/// </summary>
/// <remarks>
/// Statistics taken while few jobs waited make the planner take a backlog of thousands for a few rows: the dispatcher's
/// look then reads and sorts every pending row instead of walking the claim order's index, and the statements of a
/// running job (lease renewal, completion) read every job in flight instead of their own row. Autovacuum analyzes after
/// every 1,000 rows changed (migration 0010), but at its pace, once a minute; this takes a few seconds. The check
/// reads two catalogs and each index's size, not the table, and is made only while the silo runs or has just ended jobs
/// (an idle silo sends nothing); one silo at a time analyzes, and the status column only.
/// A user that does not own the table cannot analyze it (the server only warns): the service then stops checking.
/// </remarks>
public sealed partial class JobTableStatistics(
    NpgsqlDataSource dataSource, WorkerHealth health, TimeProvider time, ILogger<JobTableStatistics> logger) : BackgroundService
{
    /// <summary>How often each silo checks: every 5 s.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        var ended = health.Ended;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            // Only while this silo works: an idle one sends no statement for this.
            var endedNow = health.Ended;
            if (health.InFlight == 0 && endedNow == ended)
            {
                continue;
            }

            ended = endedNow;
            try
            {
                if (await RefreshAsync(stoppingToken) == StatisticsRefresh.Refused)
                {
                    LogRefused(logger);
                    return;
                }
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                // Never fatal to the silo: the database is away for now, or the check failed; the next tick tries again.
                LogFailed(logger, exception);
            }
        }
    }

    /// <summary>Analyzes generation_job when its statistics are stale; says what it did.</summary>
    public async Task<StatisticsRefresh> RefreshAsync(CancellationToken cancellationToken)
    {
        if (!await StaleAsync(cancellationToken))
        {
            return StatisticsRefresh.Current;
        }

        var started = time.GetTimestamp();
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await using var locking = new NpgsqlCommand(SqlQueries.Get("JobAnalyzeLock"), connection, transaction);
            if (!(bool)(await locking.ExecuteScalarAsync(cancellationToken))!)
            {
                return StatisticsRefresh.AnotherSilo;
            }

            await using var analyze = new NpgsqlCommand(SqlQueries.Get("JobAnalyze"), connection, transaction);
            await analyze.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        if (await StaleAsync(cancellationToken))
        {
            return StatisticsRefresh.Refused;
        }

        LogAnalyzed(logger, time.GetElapsedTime(started).TotalMilliseconds);
        return StatisticsRefresh.Analyzed;
    }

    private async Task<bool> StaleAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("JobStatisticsStale"));
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}

/// <summary>What <see cref="JobTableStatistics.RefreshAsync"/> did.</summary>
public enum StatisticsRefresh
{
    /// <summary>The statistics were current: nothing was done.</summary>
    Current,

    /// <summary>They were stale and the table was analyzed.</summary>
    Analyzed,

    /// <summary>They were stale and another silo was analyzing the table.</summary>
    AnotherSilo,

    /// <summary>They were stale and stayed so after ANALYZE: the user does not own the table.</summary>
    Refused,
}
