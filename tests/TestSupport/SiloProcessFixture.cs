using GenerationWorker.GeminiEmulator;
using Npgsql;
using Xunit;

namespace GenerationWorker.TestSupport;

/// <summary>
/// What a test class of silo processes shares: a fresh database, a Gemini emulator, a local image directory and one
/// cluster id; it starts <see cref="SiloProcess"/>es on them and kills every one of them when the class ends.
/// </summary>
public class SiloProcessFixture : IAsyncLifetime
{
    private readonly List<SiloProcess> _silos = [];
    private GeminiEmulatorHandle? _emulator;

    /// <summary>The class's database (an Npgsql connection string, pooled).</summary>
    public string ConnectionString { get; private set; } = "";

    /// <summary>The cluster id its silos join unless told otherwise.</summary>
    public string ClusterId { get; } = "test-" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>Where its silos store images (STORAGE=local).</summary>
    public string StorageDirectory { get; } = Path.Combine(Path.GetTempPath(), "silo-files-" + Guid.NewGuid().ToString("N"));

    /// <summary>The Gemini emulator its silos call.</summary>
    public GeminiEmulatorHandle Emulator => _emulator ?? throw new InvalidOperationException("The fixture has not started yet.");

    /// <summary>The job table of the class's database.</summary>
    public JobTable Jobs => new(ConnectionString);

    /// <summary>
    /// The variables of a test silo on this fixture's database, emulator, storage and cluster (see
    /// <see cref="WorkerSilo.BaseEnvironment"/>), with <paramref name="overrides"/> applied (a null value removes one).
    /// </summary>
    public Dictionary<string, string?> Environment(IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var env = WorkerSilo.BaseEnvironment(ConnectionString, Emulator.BaseUrl, Emulator.ApiKey, StorageDirectory);
        env["ORLEANS_CLUSTER_ID"] = ClusterId;
        foreach (var (name, value) in overrides ?? new Dictionary<string, string?>())
        {
            env[name] = value;
        }

        return env;
    }

    /// <summary>Starts a silo process with <see cref="Environment"/> and waits for its <c>/health</c> to answer 200.</summary>
    public async Task<SiloProcess> StartSiloAsync(IReadOnlyDictionary<string, string?>? overrides = null, TimeSpan? timeout = null)
    {
        var silo = Launch(overrides);
        await silo.WaitHealthyAsync(timeout ?? TimeSpan.FromSeconds(90));
        return silo;
    }

    /// <summary>Starts a silo process and returns at once; the fixture kills it at the end.</summary>
    public SiloProcess Launch(IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var silo = SiloProcess.Start(Environment(overrides));
        lock (_silos)
        {
            _silos.Add(silo);
        }

        return silo;
    }

    /// <summary>The status (Orleans <c>SiloStatus</c>: 3 Active, 6 Dead) of a silo's membership row, or null.</summary>
    public async Task<int?> MembershipStatusAsync(SiloProcess silo, string? clusterId = null)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT status FROM orleans_membership
            WHERE deployment_id = @cluster AND address = '127.0.0.1' AND port = @port
            ORDER BY generation DESC LIMIT 1
            """, connection);
        command.Parameters.AddWithValue("cluster", clusterId ?? ClusterId);
        command.Parameters.AddWithValue("port", silo.SiloPort);
        return await command.ExecuteScalarAsync() is int status ? status : null;
    }

    /// <inheritdoc />
    public virtual async Task InitializeAsync()
    {
        Directory.CreateDirectory(StorageDirectory);
        _emulator = await GeminiEmulatorServer.StartAsync(new EmulatorOptions());
        ConnectionString = await PostgresServer.CreateDatabaseAsync("silo");
    }

    /// <inheritdoc />
    public virtual async Task DisposeAsync()
    {
        List<SiloProcess> silos;
        lock (_silos)
        {
            silos = [.. _silos];
        }

        await Task.WhenAll(silos.Select(silo => silo.DisposeAsync().AsTask()));
        if (ConnectionString.Length > 0)
        {
            await PostgresServer.DropDatabaseAsync(ConnectionString);
        }

        if (_emulator is not null)
        {
            await _emulator.DisposeAsync();
        }

        if (Directory.Exists(StorageDirectory))
        {
            Directory.Delete(StorageDirectory, recursive: true);
        }
    }
}
