using GenerationWorker.Grains.Postgres;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace GenerationWorker.Grains.Tests.Postgres;

/// <summary>
/// The planner's statistics of generation_job follow its backlog: autovacuum analyzes it after every 1,000 rows changed
/// (migration 0010), and each silo within seconds when a backlog outgrows them (<see cref="JobTableStatistics"/>).
/// </summary>
public sealed class PlannerStatisticsTests
{
    /// <summary>On a server of the test's own whose autovacuum looks every second: the test waits for autovacuum, not for a minute to pass.</summary>
    [Fact]
    public async Task ABacklogArrivingInATableOfManyFinishedJobs_IsAnalyzed_AndTheDispatchersLookStopsReadingItWhole()
    {
        await using var postgres = await PrivatePostgres.StartAsync("autovacuum_naptime = 1");
        await new SchemaMigrator(NullLogger<SchemaMigrator>.Instance).MigrateAsync(postgres.ConnectionString, CancellationToken.None);
        var jobs = new JobTable(postgres.ConnectionString + ";Command Timeout=60");

        // A table that has run for a while, 100,000 jobs finished and 1,000 waiting, analyzed; autovacuum off until the
        // backlog below has arrived, so that only the rows changed after this analyze can start the next one.
        await RunForAWhileAsync(jobs, finished: 100_000, waiting: 1000);

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

    [Fact]
    public async Task ABacklogOutgrowingTheStatistics_IsAnalyzedBySilo_AndTheStatementsOfRunningJobsReadTheirOwnRows()
    {
        var connectionString = await PostgresServer.CreateDatabaseAsync("stats");
        try
        {
            await new SchemaMigrator(NullLogger<SchemaMigrator>.Instance).MigrateAsync(connectionString, CancellationToken.None);
            var jobs = new JobTable(connectionString);
            await using var dataSource = NpgsqlDataSource.Create(connectionString);
            var statistics = new JobTableStatistics(dataSource, new WorkerHealth(), TimeProvider.System, NullLogger<JobTableStatistics>.Instance);

            // Analyzed while nothing waited nor ran (autovacuum off: only the service analyzes here).
            await RunForAWhileAsync(jobs, finished: 30_000, waiting: 0);
            Assert.Equal(StatisticsRefresh.Current, await statistics.RefreshAsync(CancellationToken.None));

            // A burst: 5,000 jobs arrive and 1,500 of them are claimed.
            await InsertPendingAsync(jobs, "job_backlog_", 5000);
            await jobs.ExecuteAsync(
                """
                UPDATE generation_job SET status = 'processing', locked_by = 'silo-a', lease_token = gen_random_uuid(),
                                          lease_expires_at = now() + interval '1 minute', model = 'gemini-2.5-flash-image'
                WHERE id IN (SELECT id FROM generation_job WHERE status = 'pending' ORDER BY id LIMIT 1500)
                """);
            Assert.Contains("generation_job_scheduled_idx", await PeekPlanAsync(jobs));
            Assert.DoesNotContain("generation_job_pkey", await RenewPlanAsync(jobs));

            // Another silo analyzing at this moment (it holds the lock): this one leaves it to that one.
            await using (var otherSilo = await dataSource.OpenConnectionAsync())
            await using (var itsTransaction = await otherSilo.BeginTransactionAsync())
            {
                await using var locking = new NpgsqlCommand(SqlQueries.Get("JobAnalyzeLock"), otherSilo, itsTransaction);
                Assert.True((bool)(await locking.ExecuteScalarAsync())!);
                Assert.Equal(StatisticsRefresh.AnotherSilo, await statistics.RefreshAsync(CancellationToken.None));
            }

            Assert.Equal(StatisticsRefresh.Analyzed, await statistics.RefreshAsync(CancellationToken.None));

            Assert.DoesNotContain("generation_job_scheduled_idx", await PeekPlanAsync(jobs));
            Assert.Contains("generation_job_pkey", await RenewPlanAsync(jobs));
            Assert.Equal(StatisticsRefresh.Current, await statistics.RefreshAsync(CancellationToken.None));
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(connectionString);
        }
    }

    [Fact]
    public async Task ASiloWorkingThroughABacklogThatOutgrewTheStatistics_AnalyzesTheTable()
    {
        var connectionString = await PostgresServer.CreateDatabaseAsync("stats");
        var storage = Path.Combine(Path.GetTempPath(), "worker-files-" + Guid.NewGuid().ToString("N"));
        var gemini = new GeminiEmulatorFixture();
        try
        {
            await gemini.InitializeAsync();
            await new SchemaMigrator(NullLogger<SchemaMigrator>.Instance).MigrateAsync(connectionString, CancellationToken.None);
            var jobs = new JobTable(connectionString);
            await RunForAWhileAsync(jobs, finished: 30_000, waiting: 0);
            var analyses = await AnalysesAsync(jobs);
            await using var silo = await WorkerSilo.StartAsync(WorkerSilo.BaseEnvironment(connectionString, gemini.BaseUrl, gemini.ApiKey, storage));

            await InsertPendingAsync(jobs, "job_backlog_", 3000);

            await Eventually.UntilAsync(
                async () => await AnalysesAsync(jobs) > analyses, TimeSpan.FromSeconds(30), "the silo analyzes generation_job",
                TimeSpan.FromMilliseconds(200));
        }
        finally
        {
            await gemini.DisposeAsync();
            await PostgresServer.DropDatabaseAsync(connectionString);
            if (Directory.Exists(storage))
            {
                Directory.Delete(storage, recursive: true);
            }
        }
    }

    [Fact]
    public async Task AUserThatDoesNotOwnTheTable_IsToldItCannotAnalyze_InsteadOfTryingAgainForever()
    {
        var connectionString = await PostgresServer.CreateDatabaseAsync("stats");
        var role = "stats_reader_" + Guid.NewGuid().ToString("N")[..8];
        var admin = new JobTable(PostgresServer.AdminConnectionString);
        try
        {
            await new SchemaMigrator(NullLogger<SchemaMigrator>.Instance).MigrateAsync(connectionString, CancellationToken.None);
            var jobs = new JobTable(connectionString);
            await RunForAWhileAsync(jobs, finished: 1000, waiting: 0);
            await InsertPendingAsync(jobs, "job_backlog_", 5000);
            await admin.ExecuteAsync($"CREATE ROLE {role} LOGIN PASSWORD 'reader'");
            await jobs.ExecuteAsync($"GRANT SELECT ON generation_job TO {role}");
            var asReader = new NpgsqlConnectionStringBuilder(connectionString) { Username = role, Password = "reader", Pooling = false };
            await using var dataSource = NpgsqlDataSource.Create(asReader.ConnectionString);

            var refresh = await new JobTableStatistics(dataSource, new WorkerHealth(), TimeProvider.System, NullLogger<JobTableStatistics>.Instance)
                .RefreshAsync(CancellationToken.None);

            Assert.Equal(StatisticsRefresh.Refused, refresh);
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(connectionString);
            await admin.ExecuteAsync($"DROP ROLE IF EXISTS {role}");
        }
    }

    /// <summary>A table that has run for a while: finished jobs and some waiting, analyzed, then autovacuum off.</summary>
    private static async Task RunForAWhileAsync(JobTable jobs, int finished, int waiting)
    {
        await jobs.ExecuteAsync("ALTER TABLE generation_job SET (autovacuum_enabled = false)");
        await jobs.ExecuteAsync(
            """
            INSERT INTO generation_job (id, client_id, type, payload, status, created_at, completed_at)
            SELECT 'job_done_' || n, 'c' || (n % 50), 'image_generation', '{"prompt":"p"}', 'completed',
                   now() - interval '2 hours', now() - interval '1 hour'
            FROM generate_series(1, @count) AS n
            """, ("count", finished));
        await InsertPendingAsync(jobs, "job_waiting_", waiting);
        await jobs.ExecuteAsync("ANALYZE generation_job");
    }

    /// <summary>How many times generation_job was analyzed by a statement (not by autovacuum).</summary>
    private static Task<long> AnalysesAsync(JobTable jobs) =>
        jobs.ScalarAsync<long>("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'generation_job'");

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

    /// <summary>The generic plan of a running job's lease renewal (JobRenewLease), as a prepared statement runs it.</summary>
    private static async Task<string> RenewPlanAsync(JobTable jobs)
    {
        var sql = SqlQueries.Get("JobRenewLease")
            .Replace("@LeaseSeconds", "$1", StringComparison.Ordinal).Replace("@Id", "$2", StringComparison.Ordinal)
            .Replace("@LeaseToken", "$3", StringComparison.Ordinal);
        await using var connection = new NpgsqlConnection(jobs.ConnectionString);
        await connection.OpenAsync();
        await using (var prepare = new NpgsqlCommand($"SET plan_cache_mode = force_generic_plan; PREPARE renew(double precision, text, uuid) AS {sql}", connection))
        {
            await prepare.ExecuteNonQueryAsync();
        }

        await using var explain = new NpgsqlCommand("EXPLAIN (FORMAT JSON) EXECUTE renew(60, 'job_x', gen_random_uuid())", connection);
        return (string)(await explain.ExecuteScalarAsync())!;
    }
}
