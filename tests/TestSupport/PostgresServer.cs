using System.Diagnostics;
using Npgsql;
using Xunit;

namespace GenerationWorker.TestSupport;

/// <summary>
/// The real PostgreSQL server the tests use: <c>TEST_POSTGRES</c> (an Npgsql connection string for a superuser), or the
/// project's own throwaway cluster, started through <c>scripts/postgres.sh start</c> when it is not running yet.
/// </summary>
public static class PostgresServer
{
    private static readonly SemaphoreSlim StartLock = new(1, 1);
    private static bool _started;

    /// <summary>The superuser connection string of the server.</summary>
    public static string AdminConnectionString { get; } =
        Environment.GetEnvironmentVariable("TEST_POSTGRES")
        ?? "Host=127.0.0.1;Port=55432;Username=postgres;Database=postgres;Pooling=false";

    /// <summary>Makes sure the server answers, starting the local cluster if needed.</summary>
    public static async Task EnsureRunningAsync()
    {
        await StartLock.WaitAsync();
        try
        {
            if (_started || await CanConnectAsync())
            {
                _started = true;
                return;
            }

            var script = Path.Combine(RepoPaths.Root, "scripts", "postgres.sh");
            using var process = Process.Start(new ProcessStartInfo("bash", [script, "start"]) { RedirectStandardError = true })
                ?? throw new InvalidOperationException("could not run " + script);
            var stderr = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0 || !await CanConnectAsync())
            {
                throw new InvalidOperationException($"PostgreSQL is not reachable and '{script} start' failed: {stderr}");
            }

            _started = true;
        }
        finally
        {
            StartLock.Release();
        }
    }

    /// <summary>Creates an empty database with a unique name and returns its connection string.</summary>
    public static async Task<string> CreateDatabaseAsync(string prefix = "t")
    {
        await EnsureRunningAsync();
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 33, 63)].ToLowerInvariant();
        await using (var admin = new NpgsqlConnection(AdminConnectionString))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", admin);
            await create.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name, Pooling = true }.ConnectionString;
    }

    /// <summary>Drops a database made by <see cref="CreateDatabaseAsync"/>, closing its connections first.</summary>
    public static async Task DropDatabaseAsync(string connectionString)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database;
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(AdminConnectionString);
        await admin.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", admin);
        await drop.ExecuteNonQueryAsync();
    }

    private static async Task<bool> CanConnectAsync()
    {
        try
        {
            await using var connection = new NpgsqlConnection(AdminConnectionString);
            await connection.OpenAsync();
            return true;
        }
        catch (NpgsqlException)
        {
            return false;
        }
    }
}

/// <summary>An xunit fixture owning one fresh database for a test class.</summary>
public sealed class PostgresDatabase : IAsyncLifetime
{
    /// <summary>The connection string of this fixture's database.</summary>
    public string ConnectionString { get; private set; } = "";

    /// <inheritdoc />
    public async Task InitializeAsync() => ConnectionString = await PostgresServer.CreateDatabaseAsync();

    /// <inheritdoc />
    public Task DisposeAsync() => PostgresServer.DropDatabaseAsync(ConnectionString);
}
