using System.Diagnostics;
using Npgsql;

namespace GenerationWorker.TestSupport;

/// <summary>
/// A throwaway PostgreSQL cluster of one test's own (initdb into a temporary folder, a free port), so that the test may
/// stop and restart it without touching the server other tests share. Runs as the postgres user when the tests run as
/// root (PostgreSQL refuses root), like scripts/postgres.sh.
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _dataDirectory;

    private PrivatePostgres(string bin, string dataDirectory, int port)
    {
        _bin = bin;
        _dataDirectory = dataDirectory;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The connection string of database <c>worker</c>.</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=worker;Timeout=3;Command Timeout=10";

    /// <param name="settings">Lines added to its postgresql.conf, after the test's defaults.</param>
    public static async Task<PrivatePostgres> StartAsync(string settings = "")
    {
        var bin = Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin"))
            .Where(d => File.Exists(Path.Combine(d, "initdb"))).OrderBy(d => d, StringComparer.Ordinal).LastOrDefault()
            ?? throw new InvalidOperationException("PostgreSQL binaries not found under /usr/lib/postgresql (run scripts/postgres.sh start once)");
        var directory = Path.Combine(Path.GetTempPath(), "pg-private-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        var server = new PrivatePostgres(bin, directory, WorkerSilo.FreePort());
        if (Environment.UserName == "root")
        {
            await RunAsync("chown", "postgres:postgres", directory);
        }

        await server.AsOwnerAsync("initdb", "-D", directory, "-U", "postgres", "--auth=trust", "-E", "UTF8");
        await File.AppendAllTextAsync(Path.Combine(directory, "postgresql.conf"),
            $"listen_addresses = '127.0.0.1'\nport = {server.Port}\nunix_socket_directories = '/tmp'\nmax_connections = 200\nfsync = off\nsynchronous_commit = off\n{settings}\n");
        await server.StartAgainAsync();
        await using var admin = new NpgsqlConnection($"Host=127.0.0.1;Port={server.Port};Username=postgres;Database=postgres;Pooling=false");
        await admin.OpenAsync();
        await using var create = new NpgsqlCommand("CREATE DATABASE worker", admin);
        await create.ExecuteNonQueryAsync();
        return server;
    }

    /// <summary>Stops the server (fast mode: clients are disconnected).</summary>
    public Task StopAsync() => AsOwnerAsync("pg_ctl", "-D", _dataDirectory, "-m", "fast", "-w", "stop");

    /// <summary>Starts the (stopped) server.</summary>
    public Task StartAgainAsync() =>
        AsOwnerAsync("pg_ctl", "-D", _dataDirectory, "-l", Path.Combine(_dataDirectory, "server.log"), "-w", "start");

    /// <summary>pg_ctl restart.</summary>
    public Task RestartAsync() =>
        AsOwnerAsync("pg_ctl", "-D", _dataDirectory, "-l", Path.Combine(_dataDirectory, "server.log"), "-m", "fast", "-w", "restart");

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            await AsOwnerAsync("pg_ctl", "-D", _dataDirectory, "-m", "immediate", "-w", "stop");
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }

        Directory.Delete(_dataDirectory, recursive: true);
    }

    private Task AsOwnerAsync(string tool, params string[] args) =>
        Environment.UserName == "root"
            ? RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(_bin, tool), .. args])
            : RunAsync(Path.Combine(_bin, tool), args);

    private static async Task RunAsync(string file, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("could not run " + file);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {await stderr}{await stdout}");
        }
    }
}
