using GenerationWorker.Grains.Postgres;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace GenerationWorker.Grains.Tests.Postgres;

/// <summary>
/// The planner's statistics of generation_job follow its backlog (migration 0010), on a server of the test's own whose
/// autovacuum looks every second instead of every minute: the test waits for autovacuum, not for a minute to pass.
/// </summary>
public sealed class PlannerStatisticsTests
{
    [Fact]
    public async Task ABacklogArrivingInATableOfManyFinishedJobs_IsAnalyzed_AndTheDispatchersLookStopsReadingItWhole()
    {
        await using var postgres = await PrivatePostgres.StartAsync("autovacuum_naptime = 1");
        await new SchemaMigrator(NullLogger<SchemaMigrator>.Instance).MigrateAsync(postgres.ConnectionString, CancellationToken.None);
        var jobs = new JobTable(postgres.ConnectionString + ";Command Timeout=60");

        // A table that has run for a while, 100,000 jobs finished and 1,000 waiting, analyzed; autovacuum off until the
        // backlog below has arrived, so that only the rows changed after this analyze can start the next one.
        await jobs.ExecuteAsync("ALTER TABLE generation_job SET (autovacuum_enabled = false)");
        await jobs.ExecuteAsync(
            """
            INSERT INTO generation_job (id, client_id, type, payload, status, created_at, completed_at)
            SELECT 'job_done_' || n, 'c' || (n % 50), 'image_generation', '{"prompt":"p"}', 'completed',
                   now() - interval '2 hours', now() - interval '1 hour'
            FROM generate_series(1, 100000) AS n
            """);
        await InsertPendingAsync(jobs, "job_waiting_", 1000);
        await jobs.ExecuteAsync("ANALYZE generation_job");

        // A collection arrives: 9,000 jobs, fewer than a tenth of the table (autovacuum's own threshold).
        await InsertPendingAsync(jobs, "job_backlog_", 9000);
        Assert.Contains("generation_job_scheduled_idx", await PeekPlanAsync(jobs));

        await jobs.ExecuteAsync("ALTER TABLE generation_job RESET (autovacuum_enabled)");
        await Eventually.UntilAsync(
            async () => !(await PeekPlanAsync(jobs)).Contains("generation_job_scheduled_idx", StringComparison.Ordinal),
            TimeSpan.FromSeconds(60), "autovacuum analyzes the table and the look walks the claim order's index",
            TimeSpan.FromMilliseconds(500));

        Assert.Contains("generation_job_claimable_idx", await PeekPlanAsync(jobs));
    }

    private static Task InsertPendingAsync(JobTable jobs, string prefix, int count) => jobs.ExecuteAsync(
        """
        INSERT INTO generation_job (id, client_id, type, payload)
        SELECT @prefix || n, 'c' || (n % 50), 'image_generation', '{"prompt":"p"}' FROM generate_series(1, @count) AS n
        """, ("prefix", prefix), ("count", count));

    /// <summary>The plan of the dispatcher's look (JobPeekCandidates) at the first 64 jobs and 4 of each of 20 clients.</summary>
    private static Task<string> PeekPlanAsync(JobTable jobs)
    {
        var sql = SqlQueries.Get("JobPeekCandidates")
            .Replace("@After", "''", StringComparison.Ordinal).Replace("@Clients", "20", StringComparison.Ordinal)
            .Replace("@Skip", "'{}'", StringComparison.Ordinal).Replace("@Limit", "64", StringComparison.Ordinal)
            .Replace("@PerClient", "4", StringComparison.Ordinal);
        return jobs.ScalarAsync<string>("EXPLAIN (FORMAT JSON) " + sql);
    }
}
