using GenerationWorker.Grains.Postgres;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace GenerationWorker.Grains.Tests.Postgres;

/// <summary>
/// A fresh database with the service's migrations applied, whose default session time zone is America/New_York so that
/// every test also proves the schema does not depend on the server running in UTC.
/// </summary>
public sealed class OrleansDatabase : IAsyncLifetime
{
    /// <summary>The session time zone every connection to this database starts with.</summary>
    public const string TimeZone = "America/New_York";

    /// <summary>The connection string of the migrated database.</summary>
    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync() => ConnectionString = await CreateAsync();

    public Task DisposeAsync() => PostgresServer.DropDatabaseAsync(ConnectionString);

    /// <summary>Creates and migrates one more database (the caller drops it).</summary>
    public static async Task<string> CreateAsync()
    {
        var connectionString = await PostgresServer.CreateDatabaseAsync("orl");
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database;
        await using (var admin = new NpgsqlConnection(PostgresServer.AdminConnectionString))
        {
            await admin.OpenAsync();
            await using var alter = new NpgsqlCommand($"ALTER DATABASE \"{name}\" SET timezone TO '{TimeZone}'", admin);
            await alter.ExecuteNonQueryAsync();
        }

        await new SchemaMigrator(NullLogger<SchemaMigrator>.Instance).MigrateAsync(connectionString, CancellationToken.None);
        return connectionString;
    }

    /// <summary>Runs <paramref name="sql"/> and returns the first column of its first row.</summary>
    public static async Task<T> ScalarAsync<T>(string connectionString, string sql, params (string Name, object? Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Runs <paramref name="sql"/> and returns the affected row count.</summary>
    public static async Task<int> ExecuteAsync(string connectionString, string sql, params (string Name, object? Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return await command.ExecuteNonQueryAsync();
    }
}
