using GenerationWorker.Grains.Postgres;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace GenerationWorker.Grains.Tests.Postgres;

/// <summary>The start-up probe and the pooler-safe migration, against the real server and a real PgBouncer.</summary>
public sealed class PoolerProbeTests : IAsyncLifetime
{
    private string _connectionString = "";
    private PgBouncer _transactionPooler = null!;
    private PgBouncer _sessionPooler = null!;

    public async Task InitializeAsync()
    {
        _connectionString = await PostgresServer.CreateDatabaseAsync("probe");
        var serverPort = new NpgsqlConnectionStringBuilder(_connectionString).Port;
        _transactionPooler = await PgBouncer.StartAsync(serverPort, "transaction", poolSize: 4);
        _sessionPooler = await PgBouncer.StartAsync(serverPort, "session", poolSize: 4);
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await _transactionPooler.DisposeAsync();
        await _sessionPooler.DisposeAsync();
        await PostgresServer.DropDatabaseAsync(_connectionString);
    }

    [Fact]
    public async Task Probe_OfTheServer_SaysServer()
    {
        Assert.Equal(ConnectionBehaviour.Server, await PoolerProbe.ProbeAsync(_connectionString, CancellationToken.None));
    }

    [Fact]
    public async Task Probe_OfPgBouncer118InTransactionMode_SaysPoolerThatDropsPreparedStatements()
    {
        var probed = await PoolerProbe.ProbeAsync(_transactionPooler.Through(_connectionString), CancellationToken.None);

        Assert.Equal(new ConnectionBehaviour(TransactionPooler: true, KeepsPreparedStatements: false), probed);

        // The probe's statement was deallocated: the pooler's next client (on the backend it freed last) finds none.
        await using var next = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_transactionPooler.Through(_connectionString)) { Pooling = false }.ConnectionString);
        await next.OpenAsync();
        await using var statements = new NpgsqlCommand("SELECT count(*) FROM pg_prepared_statements", next);
        Assert.Equal(0L, (long)(await statements.ExecuteScalarAsync())!);
        Assert.Equal(probed, await PoolerProbe.ProbeAsync(_transactionPooler.Through(_connectionString), CancellationToken.None));
    }

    [Fact]
    public async Task Probe_OfPgBouncerInSessionMode_SaysServer_SinceSessionsLastThere()
    {
        Assert.Equal(ConnectionBehaviour.Server, await PoolerProbe.ProbeAsync(_sessionPooler.Through(_connectionString), CancellationToken.None));
    }

    [Fact]
    public async Task Migrate_ThroughTheTransactionPooler_ByFourAtOnce_AppliesEachMigrationOnce_AndLeavesNoLockBehind()
    {
        var pooled = _transactionPooler.Through(_connectionString);
        var reports = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
            new SchemaMigrator(NullLogger<SchemaMigrator>.Instance).MigrateAsync(pooled, MigrationLocking.Transaction, CancellationToken.None))));

        Assert.Equal(SchemaMigrator.Known, reports.SelectMany(r => r.AppliedNow).OrderBy(m => m.Version));
        Assert.All(reports, r => Assert.Equal(SchemaMigrator.Known, r.AppliedNow.Concat(r.AlreadyApplied).OrderBy(m => m.Version)));
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var locks = new NpgsqlCommand(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname = current_database()",
            connection);
        Assert.Equal(0L, (long)(await locks.ExecuteScalarAsync())!);
        await using var recorded = new NpgsqlCommand("SELECT count(*) FROM schema_migration", connection);
        Assert.Equal(SchemaMigrator.Known.Count, (int)(long)(await recorded.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task SessionLockedMigration_ThroughTheTransactionPooler_WouldStrandItsLock()
    {
        // Why the pooler gets the transaction-locked run: a session lock taken through it stays on the lent backend
        // after its client is gone (its own database: the stranded lock would block the other tests' migrations).
        var own = await PostgresServer.CreateDatabaseAsync("strand");
        try
        {
            var pooled = new NpgsqlConnectionStringBuilder(_transactionPooler.Through(own)) { Pooling = false }.ConnectionString;
            await using (var connection = new NpgsqlConnection(pooled))
            {
                await connection.OpenAsync();
                await using var take = new NpgsqlCommand(SqlQueries.Get("MigrationLock"), connection);
                await take.ExecuteNonQueryAsync();
            }

            await using var direct = new NpgsqlConnection(own);
            await direct.OpenAsync();
            await using var locks = new NpgsqlCommand(
                "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()",
                direct);
            Assert.Equal(1L, (long)(await locks.ExecuteScalarAsync())!);
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(own);
        }
    }
}
