using Npgsql;

namespace GenerationWorker.Bench.Harness;

/// <summary>The project's PostgreSQL server: <c>BENCH_POSTGRES</c>, or the local cluster of <c>scripts/postgres.sh</c>.</summary>
internal static class Postgres
{
    /// <summary>A superuser connection string to the server's <c>postgres</c> database.</summary>
    public static string AdminConnectionString { get; } =
        Environment.GetEnvironmentVariable("BENCH_POSTGRES")
        ?? "Host=127.0.0.1;Port=55432;Username=postgres;Database=postgres;Pooling=false";

    /// <summary>Starts the local cluster when the server does not answer.</summary>
    public static async Task EnsureRunningAsync(CancellationToken cancellationToken)
    {
        if (await CanConnectAsync(cancellationToken))
        {
            return;
        }

        await Repo.ScriptAsync("postgres.sh", ["start"], cancellationToken);
        if (!await CanConnectAsync(cancellationToken))
        {
            throw new InvalidOperationException("PostgreSQL does not answer at " + AdminConnectionString);
        }
    }

    /// <summary>Creates an empty database and returns its name.</summary>
    public static async Task<string> CreateDatabaseAsync(string name, CancellationToken cancellationToken)
    {
        await using var admin = new NpgsqlConnection(AdminConnectionString);
        await admin.OpenAsync(cancellationToken);
        await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", admin);
        await create.ExecuteNonQueryAsync(cancellationToken);
        return name;
    }

    /// <summary>Drops a database, closing its connections first.</summary>
    public static async Task DropDatabaseAsync(string name)
    {
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(AdminConnectionString);
        await admin.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", admin);
        await drop.ExecuteNonQueryAsync();
    }

    /// <summary>The connection string of database <paramref name="name"/> on the same server (pooled).</summary>
    public static string ConnectionStringFor(string name) =>
        new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name, Pooling = true }.ConnectionString;

    /// <summary>The server's version string.</summary>
    public static async Task<string> VersionAsync(CancellationToken cancellationToken)
    {
        await using var admin = new NpgsqlConnection(AdminConnectionString);
        await admin.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SHOW server_version", admin);
        return (string)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task<bool> CanConnectAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new NpgsqlConnection(AdminConnectionString);
            await connection.OpenAsync(cancellationToken);
            return true;
        }
        catch (NpgsqlException)
        {
            return false;
        }
    }
}
