using System.Text.RegularExpressions;
using GenerationWorker.Grains.Postgres;
using GenerationWorker.Grains.Tests.Gemini;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace GenerationWorker.Grains.Tests.Postgres;

/// <summary>The migration runner against real, fresh databases (one per test: each test starts from a known state).</summary>
public sealed class SchemaMigratorTests : IAsyncLifetime
{
    /// <summary>How long a test waits for the migrator to reach a state (a log line, a lock wait): 30 s.</summary>
    private static readonly TimeSpan MigrationWait = TimeSpan.FromSeconds(30);

    /// <summary>Polled often: the migrator's lock retries come every 150 ms in the give-up test.</summary>
    private static readonly TimeSpan MigrationPoll = TimeSpan.FromMilliseconds(10);

    private string _connectionString = "";

    public async Task InitializeAsync() => _connectionString = await PostgresServer.CreateDatabaseAsync("migr");

    public Task DisposeAsync() => PostgresServer.DropDatabaseAsync(_connectionString);

    /// <summary>Every embedded migration but the concurrent index builds: a deployment migrated before them.</summary>
    private static MigrationScript[] BeforeConcurrentIndexes =>
        [.. SchemaMigrator.Scripts.TakeWhile(s => s.Migration.Name != "0006_concurrent_indexes")];

    private static SchemaMigrator NewMigrator(MigrationLockPolicy? lockPolicy = null) => new(NullLogger<SchemaMigrator>.Instance, lockPolicy);

    [Fact]
    public void Known_ListsTheEmbeddedMigrationsInVersionOrder()
    {
        Assert.Contains(new SchemaMigration(1, "0001_orleans"), SchemaMigrator.Known);
        Assert.Equal(SchemaMigrator.Known.OrderBy(m => m.Version).Select(m => m.Version), SchemaMigrator.Known.Select(m => m.Version));
        Assert.Equal(SchemaMigrator.Known.Count, SchemaMigrator.Known.Select(m => m.Version).Distinct().Count());
    }

    [Fact]
    public async Task FreshDatabase_AppliesEveryMigrationAndRecordsIt()
    {
        var report = await NewMigrator().MigrateAsync(_connectionString, CancellationToken.None);

        Assert.Equal(SchemaMigrator.Known, report.AppliedNow);
        Assert.Empty(report.AlreadyApplied);
        Assert.Equal(SchemaMigrator.Known.Select(m => (m.Version, m.Name)), await RecordedAsync());
        foreach (var table in new[] { "orleansquery", "orleans_membership_version", "orleans_membership", "orleans_storage" })
        {
            Assert.True(await ScalarAsync<bool>($"SELECT to_regclass('{table}') IS NOT NULL"), table + " exists");
        }

        // The $$-quoted plpgsql bodies survived being sent as one multi-statement command.
        Assert.Equal(2L, await ScalarAsync<long>(
            "SELECT count(*) FROM pg_proc WHERE proname IN ('orleans_membership_insert', 'orleans_membership_update') AND prolang = (SELECT oid FROM pg_language WHERE lanname = 'plpgsql')"));
    }

    [Fact]
    public async Task FreshDatabase_HoldsEveryClusteringAndPersistenceQueryKeyButNoReminderKeys()
    {
        await NewMigrator().MigrateAsync(_connectionString, CancellationToken.None);

        var keys = new List<string>();
        await using (var connection = new NpgsqlConnection(_connectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT QueryKey FROM OrleansQuery ORDER BY 1", connection);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                keys.Add(reader.GetString(0));
            }
        }

        string[] expected =
        [
            "CleanupDefunctSiloEntriesKey", "CleanupDefunctSiloEntryKey", "ClearStorageKey", "DeleteMembershipTableEntriesKey",
            "DeleteStorageKey", "GatewaysQueryKey", "InsertMembershipKey", "InsertMembershipVersionKey", "MembershipReadAllKey",
            "MembershipReadRowKey", "ReadFromStorageKey", "UpdateIAmAlivetimeKey", "UpdateMembershipKey", "WriteToStorageKey",
        ];
        Assert.Equal(expected.Order(StringComparer.Ordinal), keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task SecondRun_AppliesNothingAndLeavesTheRecordAlone()
    {
        await NewMigrator().MigrateAsync(_connectionString, CancellationToken.None);
        var appliedAt = await ScalarAsync<DateTime>("SELECT max(applied_at) FROM schema_migration");

        var report = await NewMigrator().MigrateAsync(_connectionString, CancellationToken.None);

        Assert.Empty(report.AppliedNow);
        Assert.Equal(SchemaMigrator.Known, report.AlreadyApplied);
        Assert.Equal(SchemaMigrator.Known.Count, (int)await ScalarAsync<long>("SELECT count(*) FROM schema_migration"));
        Assert.Equal(appliedAt, await ScalarAsync<DateTime>("SELECT max(applied_at) FROM schema_migration"));
    }

    [Fact]
    public async Task ConcurrentMigrators_ApplyEachMigrationExactlyOnce()
    {
        var dataSources = Enumerable.Range(0, 4).Select(_ => NpgsqlDataSource.Create(_connectionString)).ToList();
        try
        {
            var reports = await Task.WhenAll(dataSources.Select(ds => Task.Run(() => NewMigrator().MigrateAsync(ds, CancellationToken.None))));

            var appliedNow = reports.SelectMany(r => r.AppliedNow).ToList();
            Assert.Equal(SchemaMigrator.Known.OrderBy(m => m.Version), appliedNow.OrderBy(m => m.Version));
            Assert.All(reports, r => Assert.Equal(SchemaMigrator.Known, r.AppliedNow.Concat(r.AlreadyApplied).OrderBy(m => m.Version)));
            Assert.Equal(SchemaMigrator.Known.Select(m => (m.Version, m.Name)), await RecordedAsync());
        }
        finally
        {
            foreach (var dataSource in dataSources)
            {
                await dataSource.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task DatabaseWithUnrelatedTables_KeepsThemAndTheirRows()
    {
        await ExecuteAsync("CREATE TABLE customer_note (id int PRIMARY KEY, body text); INSERT INTO customer_note VALUES (1, 'keep me');");

        await NewMigrator().MigrateAsync(_connectionString, CancellationToken.None);

        Assert.Equal("keep me", await ScalarAsync<string>("SELECT body FROM customer_note WHERE id = 1"));
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM schema_migration WHERE version = 1"));
    }

    [Fact]
    public async Task FailingMigration_RollsBackItsObjectsIsNotRecordedAndReleasesTheLock()
    {
        await using var dataSource = NpgsqlDataSource.Create(_connectionString);
        MigrationScript[] scripts =
        [
            SchemaMigrator.Parse("migrations/0007_good.sql", "CREATE TABLE good_one (id int);"),
            SchemaMigrator.Parse("migrations/0008_broken.sql", "CREATE TABLE half_done (id int); SELECT no_such_function();"),
        ];

        await Assert.ThrowsAsync<PostgresException>(() => NewMigrator().MigrateAsync(dataSource, scripts, CancellationToken.None));

        Assert.True(await ScalarAsync<bool>("SELECT to_regclass('good_one') IS NOT NULL"));
        Assert.True(await ScalarAsync<bool>("SELECT to_regclass('half_done') IS NULL"));
        Assert.Equal([(7, "0007_good")], await RecordedAsync());

        // The lock went back with the failure: another session can take it at once.
        Assert.True(await ScalarAsync<bool>("SELECT pg_try_advisory_lock(5140662476791234900)"));
    }

    [Fact]
    public async Task LockHeldElsewhere_MigratorWaitsUntilItIsReleased()
    {
        await using var holder = new NpgsqlConnection(_connectionString);
        await holder.OpenAsync();
        await using (var take = new NpgsqlCommand(SqlQueries.Get("MigrationLock"), holder))
        {
            await take.ExecuteNonQueryAsync();
        }

        using var logs = new CapturingLoggerProvider();
        using var loggers = new LoggerFactory([logs]);
        var migration = new SchemaMigrator(loggers.CreateLogger<SchemaMigrator>()).MigrateAsync(_connectionString, CancellationToken.None);

        // The migrator found the lock taken and keeps trying; nothing is applied meanwhile.
        await Eventually.UntilAsync(() => migration.IsCompleted || logs.Lines.Any(line => line.Contains("holds the schema migration lock", StringComparison.Ordinal)), MigrationWait, "the migrator reports the held lock", MigrationPoll);
        Assert.False(migration.IsCompleted);
        Assert.True(await ScalarAsync<bool>("SELECT to_regclass('schema_migration') IS NULL"));

        await using (var release = new NpgsqlCommand(SqlQueries.Get("MigrationUnlock"), holder))
        {
            await release.ExecuteNonQueryAsync();
        }

        var report = await migration.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(SchemaMigrator.Known, report.AppliedNow);
    }

    [Fact]
    public void EveryIndexOnTheAppsTable_IsBuiltConcurrentlyOutsideATransaction()
    {
        var indexes = SchemaMigrator.Scripts
            .SelectMany(script => Regex.Matches(script.Text, @"CREATE\s+(UNIQUE\s+)?INDEX\s[^;]*?\sON\s+generation_job\s*\(", RegexOptions.IgnoreCase)
                .Select(match => (script, match.Value)))
            .ToList();

        Assert.NotEmpty(indexes);
        Assert.All(indexes, index =>
        {
            Assert.False(index.script.InTransaction, index.script.Migration.Name);
            Assert.Contains("CONCURRENTLY IF NOT EXISTS", index.Value, StringComparison.Ordinal);
        });
    }

    [Fact]
    public void Parse_NoTransactionMarker_SplitsTheStatementsAndNamesTheConcurrentIndexes()
    {
        var script = SchemaMigrator.Parse("migrations/0009_outside.sql",
            """
            -- migrate: no-transaction
            -- An index; a literal with a semicolon; a comment with one;
            CREATE INDEX CONCURRENTLY IF NOT EXISTS a_idx ON t (x) WHERE y = 'a;''b';
            /* ; */ CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS b_idx
                ON t (z);
            """);

        Assert.False(script.InTransaction);
        Assert.Equal(2, script.Statements.Count);
        Assert.Equal("CREATE INDEX CONCURRENTLY IF NOT EXISTS a_idx ON t (x) WHERE y = 'a;''b'", script.Statements[0]);
        Assert.Equal(["a_idx", "b_idx"], script.ConcurrentIndexes);
        Assert.True(SchemaMigrator.Parse("migrations/0010_inside.sql", "-- a comment\nCREATE INDEX i ON t (x);").InTransaction);
        Assert.Throws<FormatException>(() => SchemaMigrator.Parse(
            "migrations/0011_body.sql", "-- migrate: no-transaction\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;"));
    }

    [Fact]
    public async Task ConcurrentIndexMigration_LetsTheAppInsertWhileItWaitsForAnOpenTransaction()
    {
        // The app's table with rows, everything but the concurrent indexes applied (a deployment before 0006).
        await using var dataSource = NpgsqlDataSource.Create(_connectionString);
        var migrator = NewMigrator(new MigrationLockPolicy(TimeSpan.FromSeconds(60), 1, TimeSpan.Zero));
        await migrator.MigrateAsync(dataSource, BeforeConcurrentIndexes, CancellationToken.None);
        await ExecuteAsync("INSERT INTO generation_job (client_id, type, payload) VALUES ('c', 'image_generation', '{}')");

        // An app request in the middle of its transaction: it has inserted and not committed yet.
        await using var app = new NpgsqlConnection(_connectionString);
        await app.OpenAsync();
        await using var open = await app.BeginTransactionAsync();
        await using (var insert = new NpgsqlCommand("INSERT INTO generation_job (client_id, type, payload) VALUES ('c', 'image_generation', '{}')", app, open))
        {
            await insert.ExecuteNonQueryAsync();
        }

        var migration = migrator.MigrateAsync(dataSource, SchemaMigrator.Scripts, CancellationToken.None);
        await Eventually.UntilAsync(async () => migration.IsCompleted || await ScalarAsync<long>(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%CREATE INDEX%'") == 1,
            MigrationWait, "the index build waits for the open transaction's lock", MigrationPoll);
        Assert.False(migration.IsCompleted);

        // Another app request inserts and commits at once while the build waits (a plain CREATE INDEX would queue it).
        var other = ExecuteAsync("INSERT INTO generation_job (client_id, type, payload) VALUES ('c', 'image_generation', '{}')");
        await other.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(migration.IsCompleted);

        await open.CommitAsync();
        await migration.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(3L, await ScalarAsync<long>("SELECT count(*) FROM generation_job"));
        // Every index the migrations build on the app's table is valid (0006's, 0007's and 0009's).
        Assert.Equal(7L, await ScalarAsync<long>(
            "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'generation_job'::regclass AND i.indisvalid AND c.relname LIKE 'generation_job\\_%\\_idx'"));
        Assert.Equal(SchemaMigrator.Known.Select(m => (m.Version, m.Name)), await RecordedAsync());
    }

    [Theory]
    [InlineData(true, MigrationLocking.Session)]
    [InlineData(true, MigrationLocking.Transaction)]
    [InlineData(false, MigrationLocking.Session)]
    public async Task LockTimeout_IsRetriedWhileAnotherSessionHoldsTheTable_AndTheMigrationRunsOnceItIsReleased(bool inTransaction, MigrationLocking locking)
    {
        await NewMigrator().MigrateAsync(_connectionString, CancellationToken.None);
        await using var holder = new NpgsqlConnection(_connectionString);
        await holder.OpenAsync();
        await using var hold = await holder.BeginTransactionAsync();
        await using (var take = new NpgsqlCommand("LOCK TABLE generation_job IN ACCESS EXCLUSIVE MODE", holder, hold))
        {
            await take.ExecuteNonQueryAsync();
        }

        using var logs = new CapturingLoggerProvider();
        using var loggers = new LoggerFactory([logs]);
        var migrator = new SchemaMigrator(
            loggers.CreateLogger<SchemaMigrator>(), new MigrationLockPolicy(TimeSpan.FromMilliseconds(100), 20, TimeSpan.FromMilliseconds(50)));
        MigrationScript[] scripts = [inTransaction
            ? SchemaMigrator.Parse("migrations/0100_column.sql", "ALTER TABLE generation_job ADD COLUMN IF NOT EXISTS note text;")
            : SchemaMigrator.Parse("migrations/0100_index.sql", "-- migrate: no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS note_idx ON generation_job (flow_id);")];
        await using var dataSource = NpgsqlDataSource.Create(_connectionString);

        var migration = migrator.MigrateAsync(dataSource, scripts, locking, CancellationToken.None);
        await Eventually.UntilAsync(() => migration.IsCompleted || logs.Lines.Count(line => line.Contains("gave up waiting for a lock", StringComparison.Ordinal)) >= 2, MigrationWait, "the migrator gives up on the lock twice", MigrationPoll);
        Assert.False(migration.IsCompleted);

        await hold.RollbackAsync();
        var report = await migration.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal([scripts[0].Migration], report.AppliedNow);
        Assert.True(await ScalarAsync<bool>(inTransaction
            ? "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'generation_job' AND column_name = 'note')"
            : "SELECT indisvalid FROM pg_index WHERE indexrelid = 'note_idx'::regclass"));
        Assert.Contains(logs.Lines, line => line.Contains("in attempt 1 of 20", StringComparison.Ordinal) && line.Contains(scripts[0].Migration.Name, StringComparison.Ordinal));
    }

    [Fact]
    public async Task LockTimeout_InEveryAttempt_FailsNamingTheMigration_AndRecordsNothing()
    {
        await NewMigrator().MigrateAsync(_connectionString, CancellationToken.None);
        await using var holder = new NpgsqlConnection(_connectionString);
        await holder.OpenAsync();
        await using var hold = await holder.BeginTransactionAsync();
        await using (var take = new NpgsqlCommand("LOCK TABLE generation_job IN ACCESS EXCLUSIVE MODE", holder, hold))
        {
            await take.ExecuteNonQueryAsync();
        }

        var migrator = NewMigrator(new MigrationLockPolicy(TimeSpan.FromMilliseconds(50), 3, TimeSpan.FromMilliseconds(10)));
        MigrationScript[] scripts = [SchemaMigrator.Parse("migrations/0100_column.sql", "ALTER TABLE generation_job ADD COLUMN note text;")];
        await using var dataSource = NpgsqlDataSource.Create(_connectionString);

        var error = await Assert.ThrowsAsync<MigrationLockTimeoutException>(() => migrator.MigrateAsync(dataSource, scripts, CancellationToken.None));

        Assert.Contains("0100_column", error.Message, StringComparison.Ordinal);
        Assert.Contains("3 attempts", error.Message, StringComparison.Ordinal);
        Assert.Equal(PostgresErrorCodes.LockNotAvailable, Assert.IsType<PostgresException>(error.InnerException).SqlState);
        await hold.RollbackAsync();
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM schema_migration WHERE version = 100"));
    }

    [Fact]
    public async Task InvalidIndexLeftByAFailedConcurrentBuild_IsDroppedAndBuiltAgain()
    {
        await using var dataSource = NpgsqlDataSource.Create(_connectionString);
        await NewMigrator().MigrateAsync(dataSource, BeforeConcurrentIndexes, CancellationToken.None);

        // A concurrent build that gave up waiting for an open transaction leaves its index behind, INVALID.
        await using (var app = new NpgsqlConnection(_connectionString))
        {
            await app.OpenAsync();
            await using var open = await app.BeginTransactionAsync();
            await using (var insert = new NpgsqlCommand("INSERT INTO generation_job (client_id, type, payload) VALUES ('c', 'image_generation', '{}')", app, open))
            {
                await insert.ExecuteNonQueryAsync();
            }

            var failed = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(
                "SET lock_timeout = '200ms'; CREATE INDEX CONCURRENTLY generation_job_claimable_idx ON generation_job (priority, created_at) WHERE status = 'pending'",
                oneStatementAtATime: true));
            Assert.Equal(PostgresErrorCodes.LockNotAvailable, failed.SqlState);
            await open.CommitAsync();
        }

        Assert.False(await ScalarAsync<bool>("SELECT indisvalid FROM pg_index WHERE indexrelid = 'generation_job_claimable_idx'::regclass"));

        var report = await NewMigrator().MigrateAsync(dataSource, SchemaMigrator.Scripts, CancellationToken.None);

        Assert.Contains(SchemaMigrator.Known.Single(m => m.Name == "0006_concurrent_indexes"), report.AppliedNow);
        Assert.True(await ScalarAsync<bool>("SELECT indisvalid FROM pg_index WHERE indexrelid = 'generation_job_claimable_idx'::regclass"));
    }

    [Theory]
    [InlineData("migrations/orleans.sql")]
    [InlineData("migrations/0000_zero.sql")]
    [InlineData("migrations/12a_bad.sql")]
    [InlineData("queries/0001_x.sql")]
    public void Parse_RejectsNamesWithoutAPositiveNumericPrefix(string resource) =>
        Assert.Throws<FormatException>(() => SchemaMigrator.Parse(resource, "SELECT 1;"));

    [Fact]
    public void SqlQueries_ReturnsEmbeddedTextAndNamesUnknownQueries()
    {
        Assert.Contains("pg_try_advisory_lock", SqlQueries.Get("MigrationLock"), StringComparison.Ordinal);
        Assert.Contains("MigrationRecord", SqlQueries.Names);

        var error = Assert.Throws<KeyNotFoundException>(() => SqlQueries.Get("NoSuchQuery"));
        Assert.Contains("queries/NoSuchQuery.sql", error.Message, StringComparison.Ordinal);
    }

    private async Task<List<(int Version, string Name)>> RecordedAsync()
    {
        var rows = new List<(int, string)>();
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT version, name FROM schema_migration ORDER BY version", connection);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetInt32(0), reader.GetString(1)));
        }

        return rows;
    }

    private async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private async Task ExecuteAsync(string sql, bool oneStatementAtATime = false)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        foreach (var statement in oneStatementAtATime ? sql.Split(';') : [sql])
        {
            await using var command = new NpgsqlCommand(statement, connection);
            await command.ExecuteNonQueryAsync();
        }
    }
}
