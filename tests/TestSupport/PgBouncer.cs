using System.Diagnostics;
using Npgsql;

namespace GenerationWorker.TestSupport;

/// <summary>
/// Debian's PgBouncer in transaction mode (what Neon's <c>-pooler</c> hosts run), as a process of the test on a free
/// loopback port, in front of a PostgreSQL server; its config lives in a temporary folder. Installs the <c>pgbouncer</c>
/// package when missing (like scripts/postgres.sh installs PostgreSQL). Dispose stops it.
/// </summary>
/// <remarks>
/// Every database name is passed through (<c>* =</c>), so each test's own database is reachable. Trust auth, with the
/// users listed in an auth file as PgBouncer requires. Started as root it drops to the <c>postgres</c> user itself.
/// PgBouncer 1.18 keeps no prepared statements in transaction mode (<c>max_prepared_statements</c> came in 1.21).
/// </remarks>
public sealed class PgBouncer : IAsyncDisposable
{
    private static readonly SemaphoreSlim InstallLock = new(1, 1);

    private readonly Process _process;
    private readonly string _directory;
    private readonly List<string> _output = [];

    private PgBouncer(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    /// <summary>The port PgBouncer listens on (127.0.0.1).</summary>
    public int Port { get; }

    /// <summary>What PgBouncer logged so far (its own log lines: connections, errors).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    /// <summary>
    /// <paramref name="connectionString"/> (of the server behind this PgBouncer) rewritten to go through PgBouncer.
    /// </summary>
    public string Through(string connectionString) =>
        new NpgsqlConnectionStringBuilder(connectionString) { Host = "127.0.0.1", Port = Port }.ConnectionString;

    /// <summary>
    /// Starts PgBouncer in <paramref name="poolMode"/> in front of 127.0.0.1:<paramref name="serverPort"/> (user postgres,
    /// trust), with at most <paramref name="poolSize"/> server connections per database, and waits until it answers.
    /// </summary>
    public static async Task<PgBouncer> StartAsync(int serverPort, string poolMode = "transaction", int poolSize = 20)
    {
        var executable = await EnsureInstalledAsync();
        var directory = Path.Combine(Path.GetTempPath(), "pgbouncer-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        var port = WorkerSilo.FreePort();
        var root = Environment.UserName == "root";
        await File.WriteAllTextAsync(Path.Combine(directory, "userlist.txt"), "\"postgres\" \"\"\n");
        await File.WriteAllTextAsync(Path.Combine(directory, "pgbouncer.ini"), $"""
            [databases]
            * = host=127.0.0.1 port={serverPort}

            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = {port}
            unix_socket_dir =
            auth_type = trust
            auth_file = {Path.Combine(directory, "userlist.txt")}
            admin_users = postgres
            pool_mode = {poolMode}
            default_pool_size = {poolSize}
            max_client_conn = 2000
            max_db_connections = {poolSize}
            server_check_delay = 1
            server_login_retry = 1
            {(root ? "user = postgres" : "")}
            """);
        if (root)
        {
            await RunAsync("chown", "-R", "postgres:postgres", directory);
        }

        var process = new Process
        {
            StartInfo = new ProcessStartInfo(executable, [Path.Combine(directory, "pgbouncer.ini")])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            },
        };
        var bouncer = new PgBouncer(process, directory, port);
        process.OutputDataReceived += (_, e) => bouncer.Remember(e.Data);
        process.ErrorDataReceived += (_, e) => bouncer.Remember(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await bouncer.WaitAnsweringAsync();
        }
        catch
        {
            await bouncer.DisposeAsync();
            throw;
        }

        return bouncer;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private void Remember(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Add(line);
        }
    }

    private async Task WaitAnsweringAsync()
    {
        var admin = $"Host=127.0.0.1;Port={Port};Username=postgres;Database=pgbouncer;Pooling=false;Server Compatibility Mode=NoTypeLoading;Timeout=2";
        var last = "no answer yet";
        await Eventually.UntilAsync(
            async () =>
            {
                if (_process.HasExited)
                {
                    throw new InvalidOperationException($"pgbouncer exited with code {_process.ExitCode}:\n{Output}");
                }

                try
                {
                    await using var connection = new NpgsqlConnection(admin);
                    await connection.OpenAsync();
                    return true;
                }
                catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
                {
                    last = exception.Message;
                    return false;
                }
            },
            TimeSpan.FromSeconds(15),
            "pgbouncer answers on its admin database",
            lastObserved: () => $"{last}\n{Output}");
    }

    private static async Task<string> EnsureInstalledAsync()
    {
        const string Executable = "/usr/sbin/pgbouncer";
        await InstallLock.WaitAsync();
        try
        {
            if (!File.Exists(Executable))
            {
                var root = Environment.UserName == "root";
                var install = "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null";
                await RunAsync(root ? "bash" : "sudo", root ? ["-c", install] : ["bash", "-c", install]);
            }

            return Executable;
        }
        finally
        {
            InstallLock.Release();
        }
    }

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
