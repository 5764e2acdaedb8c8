using GenerationWorker.TestSupport;
using Npgsql;

namespace GenerationWorker.Bench.Harness;

/// <summary>
/// One measured scenario: a fresh database on the project's Postgres, the emulator, silos and optionally the S3 server,
/// all ended and dropped on dispose, even when the scenario fails or is interrupted. Logs are kept under
/// <c>bench-results/logs/&lt;label&gt;/</c> (replaced by the next run of the same label).
/// </summary>
internal sealed class BenchRun : IAsyncDisposable
{
    private readonly List<BenchSilo> _silos = [];
    private readonly List<EmulatorProcess> _emulators = [];
    private readonly List<int> _s3Ports = [];
    private int _siloCount;
    private string? _memoryDir;

    private BenchRun(string label, string connectionString, string workDir, string logDir)
    {
        Label = label;
        DatabaseName = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        ConnectionString = connectionString;
        WorkDir = workDir;
        LogDir = logDir;
        ClusterId = "bench-" + DatabaseName[6..18];
    }

    /// <summary>The scenario's name.</summary>
    public string Label { get; }

    /// <summary>The fresh database (<c>bench_&lt;random&gt;</c>, made by the tests' <see cref="PostgresServer"/>).</summary>
    public string DatabaseName { get; }

    /// <summary>Its connection string.</summary>
    public string ConnectionString { get; }

    /// <summary>A temporary folder for local storage and the S3 server's files.</summary>
    public string WorkDir { get; }

    /// <summary>Where the processes' logs go.</summary>
    public string LogDir { get; }

    /// <summary>The Orleans cluster id of this scenario's silos.</summary>
    public string ClusterId { get; }

    /// <summary>Silos started so far (killed ones included).</summary>
    public IReadOnlyList<BenchSilo> Silos => _silos;

    /// <summary>Creates the database and folders of a scenario.</summary>
    public static async Task<BenchRun> CreateAsync(string label, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var connectionString = await PostgresServer.CreateDatabaseAsync("bench");
        var workDir = Path.Combine(Path.GetTempPath(), "gw-" + new NpgsqlConnectionStringBuilder(connectionString).Database);
        Directory.CreateDirectory(workDir);
        var logDir = Path.Combine(Repo.ResultsDir, "logs", label);
        if (Directory.Exists(logDir))
        {
            Directory.Delete(logDir, recursive: true);
        }

        Directory.CreateDirectory(logDir);
        return new BenchRun(label, connectionString, workDir, logDir);
    }

    /// <summary>Starts the emulator with <paramref name="environment"/> (<c>EMULATOR_*</c>).</summary>
    public async Task<EmulatorProcess> StartEmulatorAsync(
        IReadOnlyDictionary<string, string?> environment, CancellationToken cancellationToken)
    {
        var emulator = await EmulatorProcess.StartAsync(
            environment, Path.Combine(LogDir, $"emulator{_emulators.Count + 1}.log"),
            Path.Combine(WorkDir, $"cwd-emulator{_emulators.Count + 1}"), cancellationToken);
        _emulators.Add(emulator);
        return emulator;
    }

    /// <summary>
    /// Starts the S3 server (<c>scripts/s3rver.sh start</c>) and returns the storage variables a silo needs, including
    /// <c>SSL_CERT_FILE</c> to trust its certificate.
    /// </summary>
    public async Task<Dictionary<string, string?>> StartS3Async(CancellationToken cancellationToken)
    {
        var port = WorkerSilo.FreePort();
        const string Bucket = "bench";
        await Repo.ScriptAsync("s3rver.sh", ["start", port.ToString(System.Globalization.CultureInfo.InvariantCulture), Path.Combine(WorkDir, "s3"), Bucket], cancellationToken);
        _s3Ports.Add(port);
        var caBundle = await Repo.ScriptAsync("s3rver.sh", ["ca-bundle"], cancellationToken);
        return new Dictionary<string, string?>
        {
            ["STORAGE"] = "r2",
            ["R2_ENDPOINT"] = $"https://127.0.0.1:{port}",
            ["R2_ACCESS_KEY_ID"] = "S3RVER",
            ["R2_SECRET_ACCESS_KEY"] = "S3RVER",
            ["R2_BUCKET"] = Bucket,
            ["R2_PUBLIC_URL"] = $"https://127.0.0.1:{port}/{Bucket}",
            ["SSL_CERT_FILE"] = caBundle,
        };
    }

    /// <summary>The environment of a silo of this scenario, before the scenario's own settings.</summary>
    public Dictionary<string, string?> SiloEnvironment(EmulatorProcess emulator) => new()
    {
        ["DATABASE_URL"] = ConnectionString,
        ["GEMINI_BASE_URL"] = emulator.BaseUrl.ToString(),
        ["GEMINI_API_KEY"] = EmulatorProcess.ApiKey,
        ["STORAGE"] = "local",
        ["LOCAL_STORAGE_DIR"] = Path.Combine(WorkDir, "storage"),
        ["ORLEANS_ADVERTISED_IP"] = "127.0.0.1",
        ["ORLEANS_CLUSTER_ID"] = ClusterId,
        ["DASHBOARD_USERNAME"] = "bench",
        ["DASHBOARD_PASSWORD"] = "bench-operator-" + ClusterId,
        ["DOTNET_ENVIRONMENT"] = "Production",
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
    };

    /// <summary>Starts <paramref name="count"/> silos at once and waits until each is healthy.</summary>
    public async Task<IReadOnlyList<BenchSilo>> StartSilosAsync(
        int count, IReadOnlyDictionary<string, string?> environment, CancellationToken cancellationToken)
    {
        var started = new List<BenchSilo>();
        for (var i = 0; i < count; i++)
        {
            started.Add(StartSilo(environment));
        }

        await Task.WhenAll(started.Select(silo => silo.WaitHealthyAsync(TimeSpan.FromSeconds(120), cancellationToken)));
        return started;
    }

    /// <summary>
    /// A directory for images a figure does not measure, removed with the run: in memory-backed <c>/dev/shm</c> where the
    /// machine has it (file system calls on the disk cost the silos CPU that the figure would count), else in the work
    /// directory.
    /// </summary>
    public string MemoryStorageDirectory()
    {
        _memoryDir ??= MemoryRoot is null ? Path.Combine(WorkDir, "storage") : Path.Combine(MemoryRoot, "gw-" + DatabaseName);
        return _memoryDir;
    }

    /// <summary>Memory-backed <c>/dev/shm</c>, or null on a machine without it.</summary>
    public static string? MemoryRoot { get; } = Directory.Exists("/dev/shm") ? "/dev/shm" : null;

    /// <summary>Starts one silo without waiting for it.</summary>
    /// <remarks><c>BENCH_SILO_ENV="A=1;B=2"</c> adds or overrides variables of every silo, for experiments.</remarks>
    public BenchSilo StartSilo(IReadOnlyDictionary<string, string?> environment)
    {
        var name = $"silo{++_siloCount}";
        var env = new Dictionary<string, string?>(environment);
        foreach (var pair in (Environment.GetEnvironmentVariable("BENCH_SILO_ENV") ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            env[pair[..equals]] = pair[(equals + 1)..];
        }

        var silo = BenchSilo.Start(name, env, Path.Combine(LogDir, name + ".log"), Path.Combine(WorkDir, "cwd-" + name));
        _silos.Add(silo);
        return silo;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var silo in _silos)
        {
            silo.Process.Kill();
            await silo.Silo.DisposeAsync();
        }

        foreach (var emulator in _emulators)
        {
            emulator.Process.Kill();
        }

        foreach (var port in _s3Ports)
        {
            try
            {
                await Repo.ScriptAsync("s3rver.sh", ["stop", port.ToString(System.Globalization.CultureInfo.InvariantCulture)], CancellationToken.None);
            }
            catch (InvalidOperationException exception)
            {
                Console.Error.WriteLine(exception.Message);
            }
        }

        try
        {
            await PostgresServer.DropDatabaseAsync(ConnectionString);
        }
        catch (Exception exception)
        {
            Console.Error.WriteLine($"could not drop {DatabaseName}: {exception.Message}");
        }

        foreach (var dir in new[] { WorkDir, _memoryDir })
        {
            try
            {
                if (dir is not null && Directory.Exists(dir))
                {
                    Directory.Delete(dir, recursive: true);
                }
            }
            catch (IOException)
            {
            }
        }
    }
}
