using GenerationWorker.Grains.Postgres;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace GenerationWorker.Grains.Tests.Postgres;

/// <summary>The migration runner against real, fresh databases (one per test: each test starts from a known state).</summary>
public sealed class SchemaMigratorTests : IAsyncLifetime
{
    private string _connectionString = "";

    public async Task InitializeAsync() => _connectionString = await PostgresServer.CreateDatabaseAsync("migr");

    public Task DisposeAsync() => PostgresServer.DropDatabaseAsync(_connectionString);

    private static SchemaMigrator NewMigrator() => new(NullLogger<SchemaMigrator>.Instance);

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

        var migration = NewMigrator().MigrateAsync(_connectionString, CancellationToken.None);

        // The migrator's session shows up waiting on the advisory lock; nothing is applied meanwhile.
        await PollAsync(async () => await ScalarAsync<long>(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())") == 1);
        Assert.False(migration.IsCompleted);
        Assert.True(await ScalarAsync<bool>("SELECT to_regclass('schema_migration') IS NULL"));

        await using (var release = new NpgsqlCommand(SqlQueries.Get("MigrationUnlock"), holder))
        {
            await release.ExecuteNonQueryAsync();
        }

        var report = await migration.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(SchemaMigrator.Known, report.AppliedNow);
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
        Assert.Contains("pg_advisory_lock", SqlQueries.Get("MigrationLock"), StringComparison.Ordinal);
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

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task PollAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 30 s");
            await Task.Yield();
        }
    }
}
