using GenerationWorker.GeminiEmulator;
using GenerationWorker.TestSupport;
using Npgsql;

namespace GenerationWorker.Grains.Tests.Reliability;

/// <summary>Reliability tests run one class at a time: their timings must not fight each other for the CPU.</summary>
[CollectionDefinition(Name)]
public sealed class ReliabilityCollection
{
    public const string Name = "Reliability";
}

/// <summary>
/// A database, its own Gemini emulator and local storage for one test class, with in-process silos of the real service
/// started on demand (each test class chooses their settings).
/// </summary>
public class ReliabilityFixture : IAsyncLifetime
{
    private readonly List<WorkerSilo> _silos = [];

    public GeminiEmulatorHandle Gemini { get; private set; } = null!;

    public string StorageDirectory { get; } = Path.Combine(Path.GetTempPath(), "worker-files-" + Guid.NewGuid().ToString("N"));

    public string ConnectionString { get; private set; } = "";

    public JobTable Jobs { get; private set; } = null!;

    /// <summary>The silo started by <see cref="InitializeAsync"/>, when <see cref="StartsSilo"/>.</summary>
    public WorkerSilo Silo { get; protected set; } = null!;

    /// <summary>The cluster id every silo of this fixture joins.</summary>
    public string ClusterId { get; } = "rel-" + Guid.NewGuid().ToString("N")[..12];

    protected virtual bool StartsSilo => true;

    public virtual async Task InitializeAsync()
    {
        Gemini = await GeminiEmulatorServer.StartAsync(CreateEmulatorOptions());
        ConnectionString = await PostgresServer.CreateDatabaseAsync("rel");
        Jobs = new JobTable(ConnectionString);
        if (StartsSilo)
        {
            Silo = await StartSiloAsync();
        }
    }

    public virtual async Task DisposeAsync()
    {
        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }

        await Gemini.DisposeAsync();
        await PostgresServer.DropDatabaseAsync(ConnectionString);
        if (Directory.Exists(StorageDirectory))
        {
            Directory.Delete(StorageDirectory, recursive: true);
        }
    }

    /// <summary>The environment of a silo of this fixture: the base one, then <see cref="Configure"/>.</summary>
    public Dictionary<string, string?> Environment(string? connectionString = null)
    {
        var env = WorkerSilo.BaseEnvironment(connectionString ?? ConnectionString, Gemini.BaseUrl, Gemini.ApiKey, StorageDirectory);
        env["ORLEANS_CLUSTER_ID"] = ClusterId;
        Configure(env);
        return env;
    }

    /// <summary>Starts one more in-process silo, stopped with the fixture.</summary>
    public async Task<WorkerSilo> StartSiloAsync(
        Action<Dictionary<string, string?>>? change = null, string? connectionString = null, Microsoft.Extensions.Logging.ILoggerProvider? logs = null,
        Action<Microsoft.AspNetCore.Builder.WebApplicationBuilder>? configure = null)
    {
        var env = Environment(connectionString);
        change?.Invoke(env);
        var silo = await WorkerSilo.StartAsync(env, logs, configure);
        _silos.Add(silo);
        return silo;
    }

    /// <summary>Requests the emulator received whose prompt starts with <paramref name="tag"/>.</summary>
    public IReadOnlyList<RequestLogEntry> RequestsFor(string tag) =>
        [.. Gemini.Stats.Snapshot().RecentRequests.Where(r => r.PromptStart.StartsWith(tag, StringComparison.Ordinal))];

    /// <summary>Inserts a row the way a worker that then vanished would have left it: processing, its lease expired.</summary>
    public async Task<string> InsertAbandonedAsync(string prompt, int attempts, int maxAttempts, string lockedBy, int variants = 1)
    {
        var id = "job_" + Guid.NewGuid().ToString("N");
        await Jobs.ExecuteAsync(
            """
            INSERT INTO generation_job (id, client_id, type, payload, status, attempts, max_attempts, locked_by, locked_at,
                                        started_at, lease_token, lease_expires_at)
            VALUES (@id, 'client-1', 'image_generation', @payload::jsonb, 'processing', @attempts, @max, @owner,
                    now() - interval '1 minute', now() - interval '1 minute', gen_random_uuid(), now() - interval '1 second')
            """,
            ("id", id),
            ("payload", System.Text.Json.JsonSerializer.Serialize(new { prompt, settings = new { numberOfVariants = variants } })),
            ("attempts", attempts),
            ("max", maxAttempts),
            ("owner", lockedBy));
        return id;
    }

    /// <summary>Rows of generation_job_event with their error, for one job.</summary>
    public async Task<IReadOnlyList<(string? From, string To, int Attempt, string? Worker, string? Error)>> AuditAsync(string jobId)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT from_status, to_status, attempt, worker, error FROM generation_job_event WHERE job_id = @id ORDER BY id", connection);
        command.Parameters.AddWithValue("id", jobId);
        var events = new List<(string?, string, int, string?, string?)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            events.Add((reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetString(1), reader.GetInt32(2),
                reader.IsDBNull(3) ? null : reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
        }

        return events;
    }

    protected virtual void Configure(Dictionary<string, string?> env)
    {
    }

    /// <summary>The options of the class's emulator (small images, a long request log).</summary>
    protected virtual EmulatorOptions CreateEmulatorOptions() => new() { RequestLogCapacity = 20_000 };
}
