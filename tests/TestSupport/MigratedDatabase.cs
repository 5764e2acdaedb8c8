using GenerationWorker.Grains.Postgres;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace GenerationWorker.TestSupport;

/// <summary>
/// A fresh database on the test PostgreSQL with the service's migrations applied, for one test class: a data source for
/// the service's stores and the web app's view of the job table. Disposing it drops the database.
/// </summary>
public sealed class MigratedDatabase : IAsyncDisposable
{
    private MigratedDatabase(string connectionString)
    {
        ConnectionString = connectionString;
        DataSource = NpgsqlDataSource.Create(connectionString);
        Jobs = new JobTable(connectionString);
    }

    /// <summary>The connection string of the migrated database.</summary>
    public string ConnectionString { get; }

    /// <summary>A data source for the service's stores (JobStore, AppAssetStore, ...).</summary>
    public NpgsqlDataSource DataSource { get; }

    /// <summary>The job table as the web app uses it.</summary>
    public JobTable Jobs { get; }

    /// <summary>Creates a database named after <paramref name="prefix"/> and migrates it.</summary>
    public static async Task<MigratedDatabase> CreateAsync(string prefix)
    {
        var connectionString = await PostgresServer.CreateDatabaseAsync(prefix);
        await new SchemaMigrator(NullLogger<SchemaMigrator>.Instance).MigrateAsync(connectionString, CancellationToken.None);
        return new MigratedDatabase(connectionString);
    }

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync();
        await PostgresServer.DropDatabaseAsync(ConnectionString);
    }
}
