using GenerationWorker.TestSupport;
using System.Diagnostics;
using System.Text.Json;
using GenerationWorker.GeminiEmulator;
using Npgsql;

namespace GenerationWorker.Chaos;

/// <summary>One chaos run: the cluster, the jobs, the faults, then the checks.</summary>
internal static class ChaosRun
{
    private const int SiloCount = 3;
    private const string ClientId = "chaos-client";

    public static async Task<int> ExecuteAsync(ChaosOptions options, TextWriter console)
    {
        var random = new Random(options.Seed);
        var runId = Guid.NewGuid().ToString("N")[..8];
        var storage = Path.Combine(Path.GetTempPath(), "chaos-files-" + runId);
        var clock = Stopwatch.StartNew();
        var startedAt = DateTimeOffset.UtcNow;
        var faults = new FaultLog();
        void Say(string line) => console.WriteLine($"[{clock.Elapsed.TotalSeconds,6:0.0} s] {line}");

        Say($"private PostgreSQL, Gemini emulator (budget {options.Budget} requests per {options.Window.TotalSeconds:0} s), {SiloCount} silos, {options.Jobs} jobs, seed {options.Seed}");
        await using var postgres = await PrivatePostgres.StartAsync();
        var admin = postgres.ConnectionString + ";Pooling=false";
        await using var bouncer = options.Pooler ? await PgBouncer.StartAsync(postgres.Port, "transaction", poolSize: 10) : null;
        await using var gemini = await GeminiEmulatorServer.StartAsync(new EmulatorOptions
        {
            RequestsPerWindow = options.Budget,
            Window = options.Window,
            RequestLogCapacity = 200_000,
            Faults = new FaultSettings
            {
                LatencyMinMs = 100,
                LatencyMaxMs = 900,
                Unavailable = 0.04,
                InternalError = 0.03,
                QuotaRetry = 0.01,
                RetryDelaySeconds = 2,
                Hang = 0.015,
                ImageSafety = 0.01,
                Seed = options.Seed,
            },
        });
        var environment = new Dictionary<string, string>
        {
            ["DATABASE_URL"] = bouncer?.Through(postgres.ConnectionString) ?? postgres.ConnectionString,
            ["GEMINI_API_KEY"] = gemini.ApiKey,
            ["GEMINI_BASE_URL"] = gemini.BaseUrl.ToString(),
            ["GEMINI_TIMEOUT_SECONDS"] = "30",
            ["STORAGE"] = "local",
            ["LOCAL_STORAGE_DIR"] = storage,
            ["ORLEANS_ADVERTISED_IP"] = "127.0.0.1",
            ["ORLEANS_CLUSTER_ID"] = "chaos-" + runId,
            ["POLL_INTERVAL_MS"] = "500",
            ["RETRY_BASE_SECONDS"] = "0.5",
            ["RETRY_MAX_SECONDS"] = "4",
            ["JOB_LEASE_SECONDS"] = "10",
            ["JOB_TIMEOUT_SECONDS"] = "8",
            ["SHUTDOWN_TIMEOUT_SECONDS"] = "5",
            ["WORKER_CONCURRENCY"] = "4",
            ["MAX_JOBS_PER_MINUTE"] = options.Budget.ToString(),
            ["QUOTA_WINDOW_SECONDS"] = options.Window.TotalSeconds.ToString(),
        };

        if (bouncer is not null)
        {
            // Neon's pair: the pooled URL for everything that may share sessions, the direct one for what may not.
            environment["DATABASE_URL_UNPOOLED"] = postgres.ConnectionString;
            Say($"silos reach PostgreSQL through PgBouncer (transaction mode, port {bouncer.Port}); DATABASE_URL_UNPOOLED is direct");
        }

        var silos = new SiloProcess?[SiloCount];
        var startTimeout = TimeSpan.FromSeconds(60);
        silos[0] = await StartSiloAsync(environment, startTimeout);
        var others = await Task.WhenAll(Enumerable.Range(1, SiloCount - 1).Select(_ => StartSiloAsync(environment, startTimeout)));
        others.CopyTo(silos, 1);
        Say("silos healthy");

        var ids = new List<string>();
        var variants = new Dictionary<string, int>();
        async Task InsertAsync(int from, int to)
        {
            await using var connection = new NpgsqlConnection(admin);
            await connection.OpenAsync();
            for (var i = from; i < to; i++)
            {
                var id = $"job_chaos_{runId}_{i:0000}";
                var count = random.Next(1, 5);
                await using var insert = new NpgsqlCommand(
                    "INSERT INTO generation_job (id, client_id, type, payload, max_attempts) VALUES (@id, @client, 'image_generation', @payload::jsonb, 5)",
                    connection);
                insert.Parameters.AddWithValue("id", id);
                insert.Parameters.AddWithValue("client", ClientId);
                insert.Parameters.AddWithValue("payload", JsonSerializer.Serialize(new
                {
                    prompt = $"chaos {runId} {i:0000} a lighthouse at dusk",
                    settings = new { numberOfVariants = count, aspectRatio = "1:1" },
                }));
                await insert.ExecuteNonQueryAsync();
                ids.Add(id);
                variants[id] = count;
            }
        }

        await InsertAsync(0, options.Jobs / 2);
        Say($"{ids.Count} jobs inserted");
        var deadline = options.Deadline;
        var actions = 0;
        var secondHalfAt = TimeSpan.FromSeconds(options.Short ? 8 : 20);
        var postgresRestarted = false;
        var chaosEnds = deadline * 0.7;
        while (clock.Elapsed < deadline)
        {
            if (ids.Count < options.Jobs && clock.Elapsed >= secondHalfAt)
            {
                await InsertAsync(ids.Count, options.Jobs);
                Say($"{ids.Count} jobs inserted");
            }

            var open = await CountOpenAsync(admin);
            if (ids.Count == options.Jobs && open == 0)
            {
                break;
            }

            if (clock.Elapsed < chaosEnds)
            {
                actions++;
                if (!postgresRestarted && actions >= 3)
                {
                    postgresRestarted = true;
                    var restart = Stopwatch.StartNew();
                    await postgres.RestartAsync();
                    faults.PostgresRestarts++;
                    Say($"PostgreSQL restarted ({restart.ElapsedMilliseconds} ms); {open} jobs open");
                }
                else if (random.NextDouble() < 0.6)
                {
                    var index = random.Next(SiloCount);
                    await silos[index]!.KillAsync();
                    faults.Kills++;
                    Say($"silo {index} killed (kill -9); {open} jobs open");
                    await Task.Delay(TimeSpan.FromMilliseconds(random.Next(1000, 3000)));
                    silos[index] = await StartSiloAsync(environment, startTimeout);
                    Say($"silo {index} restarted");
                }
                else
                {
                    var terminated = await TerminateConnectionsAsync(admin);
                    faults.ConnectionKills += terminated;
                    Say($"{terminated} database connections terminated; {open} jobs open");
                }
            }

            // Paces the faults; the loop also notices when every job is final.
            await Task.Delay(TimeSpan.FromSeconds(options.Short ? random.Next(4, 8) : random.Next(6, 12)));
        }

        Say("faults stopped; stopping the silos with SIGTERM");
        var exitCodes = await Task.WhenAll(silos.Select(s => s!.StopAsync(TimeSpan.FromSeconds(60))));
        var report = await ChaosReport.BuildAsync(options, admin, storage, ClientId, ids, variants, gemini.Stats.Snapshot(), faults, exitCodes, clock.Elapsed, startedAt);
        report.Print(console);
        var path = Path.Combine(RepoPaths.Root, "bench-results", "chaos.json");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
        console.WriteLine("written: " + path);
        foreach (var silo in silos)
        {
            await silo!.DisposeAsync();
        }

        Directory.Delete(storage, recursive: true);
        return report.Violations.Count == 0 ? 0 : 1;
    }

    private static async Task<long> CountOpenAsync(string connectionString)
    {
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var count = new NpgsqlCommand("SELECT count(*) FROM generation_job WHERE status IN ('pending', 'processing')", connection);
            return (long)(await count.ExecuteScalarAsync())!;
        }
        catch (NpgsqlException)
        {
            return -1;
        }
    }

    private static async Task<int> TerminateConnectionsAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var terminate = new NpgsqlCommand(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()) t",
            connection);
        return (int)(long)(await terminate.ExecuteScalarAsync())!;
    }

    /// <summary>Starts a silo process of the built executable and waits until /health answers 200.</summary>
    private static async Task<SiloProcess> StartSiloAsync(IReadOnlyDictionary<string, string> environment, TimeSpan timeout)
    {
        var env = environment.ToDictionary(pair => pair.Key, pair => (string?)pair.Value);
        env["LOG_FORMAT"] = "text";
        var silo = SiloProcess.Start(env);
        try
        {
            await silo.WaitHealthyAsync(timeout);
            return silo;
        }
        catch
        {
            await silo.DisposeAsync();
            throw;
        }
    }
}

/// <summary>The faults injected by the run.</summary>
internal sealed class FaultLog
{
    public int Kills { get; set; }

    public int ConnectionKills { get; set; }

    public int PostgresRestarts { get; set; }

}
