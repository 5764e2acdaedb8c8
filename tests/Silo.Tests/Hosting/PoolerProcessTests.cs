using System.Diagnostics;
using GenerationWorker.TestSupport;
using Npgsql;
using Xunit.Abstractions;

namespace GenerationWorker.Silo.Tests.Hosting;

/// <summary>The silo processes' database, and a PgBouncer in transaction mode (as Neon's -pooler host) in front of it.</summary>
public sealed class PoolerFixture : SiloProcessFixture
{
    /// <summary>The pooler; 10 server connections for every client of the database, so sessions are shared.</summary>
    public PgBouncer Bouncer { get; private set; } = null!;

    /// <summary>The class's database through the pooler.</summary>
    public string Pooled => Bouncer.Through(ConnectionString);

    /// <inheritdoc />
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Bouncer = await PgBouncer.StartAsync(new NpgsqlConnectionStringBuilder(ConnectionString).Port, "transaction", poolSize: 10);
    }

    /// <inheritdoc />
    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Bouncer.DisposeAsync();
    }
}

/// <summary>
/// The service on the connection strings Neon hands out, through a real PgBouncer 1.18 in transaction mode: the pooled
/// URL alone, and the pooled URL with the direct one beside it.
/// </summary>
[Collection(SiloProcessCollection.Name)]
public sealed class PoolerProcessTests(PoolerFixture fixture, ITestOutputHelper output) : IClassFixture<PoolerFixture>
{
    private const string Payload = """{"prompt":"a lighthouse at dawn","settings":{"aspectRatio":"1:1","imageQuality":"1k","numberOfVariants":1}}""";

    /// <summary>What a silo must never log through a pooler: the errors of session state that did not last.</summary>
    private static readonly string[] SessionErrors =
        ["prepared statement \"", "26000", "42P05", "does not exist", "fail:", "crit:"];

    [Fact]
    public async Task PooledUrlAlone_StartsWithNoExtraSetting_Polls_And500JobsOnTwoSilosCompleteWithoutSessionErrors()
    {
        var env = Quiet(new()
        {
            ["DATABASE_URL"] = fixture.Pooled,
            ["ORLEANS_CLUSTER_ID"] = "pooled-" + Guid.NewGuid().ToString("N")[..8],
            ["WORKER_CONCURRENCY"] = "10",
        });
        var a = await fixture.StartSiloAsync(env);
        var b = await fixture.StartSiloAsync(env);
        await using var stop = StopAtEnd(a, b);
        foreach (var silo in new[] { a, b })
        {
            var startLine = StartLine(silo);
            Assert.True(startLine.Contains("is a transaction-mode pooler (probed)", StringComparison.Ordinal), startLine);
            Assert.True(startLine.Contains("no prepared statements", StringComparison.Ordinal), startLine);
            Assert.True(startLine.Contains("Job notifications: off", StringComparison.Ordinal), startLine);
            Assert.True(startLine.Contains("Migrations: DATABASE_URL in one transaction under a transaction advisory lock", StringComparison.Ordinal), startLine);
            Assert.Contains(Lines(silo), l => l.Contains("warn:", StringComparison.Ordinal) && l.Contains("DATABASE_URL_UNPOOLED is not set", StringComparison.Ordinal));
        }

        Assert.Equal(0L, await AdvisoryLocksAsync());
        var clock = Stopwatch.StartNew();
        await fixture.Jobs.ExecuteAsync(
            "INSERT INTO generation_job (id, client_id, type, payload) SELECT 'job_pooled_' || g, 'client-pool', 'image_generation', @payload::jsonb FROM generate_series(1, 500) g",
            ("payload", Payload));
        await Eventually.UntilAsync(
            async () => await fixture.Jobs.ScalarAsync<long>("SELECT count(*) FROM generation_job WHERE id LIKE 'job_pooled_%' AND status IN ('pending', 'processing')") == 0,
            TimeSpan.FromMinutes(4),
            "the 500 pooled jobs are final",
            TimeSpan.FromMilliseconds(200),
            lastObserved: () => a.Describe("jobs still open") + "\n" + b.Describe("B"));
        var elapsed = clock.Elapsed;

        Assert.Equal(500L, await fixture.Jobs.ScalarAsync<long>("SELECT count(*) FROM generation_job WHERE id LIKE 'job_pooled_%' AND status = 'completed'"));
        Assert.Equal(2L, await fixture.Jobs.ScalarAsync<long>("SELECT count(DISTINCT worker) FROM generation_job_event WHERE job_id LIKE 'job_pooled_%' AND to_status = 'processing'"));
        foreach (var silo in new[] { a, b })
        {
            var errors = Lines(silo).Where(l => SessionErrors.Any(e => l.Contains(e, StringComparison.OrdinalIgnoreCase))).ToList();
            Assert.True(errors.Count == 0, string.Join('\n', errors));
            Assert.Equal(0, await silo.StopAsync(TimeSpan.FromSeconds(30)));
        }

        output.WriteLine($"500 jobs through PgBouncer (transaction mode, DATABASE_URL only, polling) on 2 silos: {elapsed.TotalSeconds:0.0} s");
    }

    [Fact]
    public async Task PooledAndUnpooledUrls_PickUpByNotification_AndMigrateOnTheDirectConnection()
    {
        var env = Quiet(new()
        {
            ["DATABASE_URL"] = fixture.Pooled,
            ["DATABASE_URL_UNPOOLED"] = fixture.ConnectionString,
            ["ORLEANS_CLUSTER_ID"] = "unpooled-" + Guid.NewGuid().ToString("N")[..8],
            // Far longer than any pickup below: only a notification explains a fast one.
            ["POLL_INTERVAL_MS"] = "10000",
        });
        var a = await fixture.StartSiloAsync(env);
        var b = await fixture.StartSiloAsync(env);
        await using var stop = StopAtEnd(a, b);
        foreach (var silo in new[] { a, b })
        {
            var startLine = StartLine(silo);
            Assert.True(startLine.Contains("is a transaction-mode pooler (probed)", StringComparison.Ordinal), startLine);
            Assert.True(startLine.Contains("Job notifications: LISTEN on DATABASE_URL_UNPOOLED", StringComparison.Ordinal), startLine);
            Assert.True(startLine.Contains("Migrations: DATABASE_URL_UNPOOLED under a session advisory lock", StringComparison.Ordinal), startLine);
            Assert.DoesNotContain(Lines(silo), l => l.Contains("warn:", StringComparison.Ordinal) && l.Contains("DATABASE_URL_UNPOOLED", StringComparison.Ordinal));
        }

        // A session lock taken through the pooler would still be held by the backend it was lent.
        Assert.Equal(0L, await AdvisoryLocksAsync());
        var pickups = new List<double>();
        for (var i = 0; i < 30; i++)
        {
            var id = await fixture.Jobs.InsertAsync("image_generation", Payload, id: $"job_notified_{i}");
            await fixture.Jobs.WaitForAsync(id, j => j.StartedAt is not null, TimeSpan.FromSeconds(30));
            pickups.Add(await fixture.Jobs.ScalarAsync<double>(
                "SELECT extract(epoch FROM started_at - created_at)::float8 * 1000 FROM generation_job WHERE id = @id", ("id", id)));
        }

        pickups.Sort();
        var p50 = pickups[pickups.Count / 2];
        var p90 = pickups[pickups.Count * 9 / 10];
        output.WriteLine($"pickup through PgBouncer with LISTEN on DATABASE_URL_UNPOOLED, 30 jobs one at a time: p50 {p50:0.0} ms, p90 {p90:0.0} ms, max {pickups[^1]:0.0} ms");
        Assert.True(p50 < 1000, $"p50 pickup {p50:0} ms: not woken by notifications (polling every 10 s)");
        foreach (var silo in new[] { a, b })
        {
            var errors = Lines(silo).Where(l => SessionErrors.Any(e => l.Contains(e, StringComparison.OrdinalIgnoreCase))).ToList();
            Assert.True(errors.Count == 0, string.Join('\n', errors));
            Assert.Equal(0, await silo.StopAsync(TimeSpan.FromSeconds(30)));
        }
    }

    [Fact]
    public async Task MigrateCommand_ThroughThePoolerAlone_AppliesTheSchema_AndLeavesNoLockBehind()
    {
        var database = await PostgresServer.CreateDatabaseAsync("poolmig");
        try
        {
            var env = new Dictionary<string, string?> { ["DATABASE_URL"] = fixture.Bouncer.Through(database) };
            var runs = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => SiloProcess.RunToExitAsync(["migrate"], env)));

            Assert.All(runs, run => Assert.True(run.ExitCode == 0, run.ToString()));
            var table = new JobTable(database);
            Assert.Equal((long)GenerationWorker.Grains.Postgres.SchemaMigrator.Known.Count, await table.ScalarAsync<long>("SELECT count(*) FROM schema_migration"));
            Assert.Equal(0L, await table.ScalarAsync<long>(
                "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname = current_database()"));
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(database);
        }
    }

    /// <summary>Text logs, Orleans' own chatter at warnings only, so the kept output holds the start line.</summary>
    private static Dictionary<string, string?> Quiet(Dictionary<string, string?> env)
    {
        env["LOG_FORMAT"] = "text";
        env["Logging__LogLevel__Orleans"] = "Warning";
        env["Logging__LogLevel__Microsoft"] = "Warning";
        return env;
    }

    /// <summary>Kills the silos when the test ends, passed or failed: the next test's cluster shares the database.</summary>
    private static AsyncDisposables StopAtEnd(params SiloProcess[] silos) => new(silos);

    private static string[] Lines(SiloProcess silo) => silo.Output.Split('\n');

    private static string StartLine(SiloProcess silo) =>
        Assert.Single(Lines(silo), l => l.Contains("Database: DATABASE_URL", StringComparison.Ordinal));

    private Task<long> AdvisoryLocksAsync() => fixture.Jobs.ScalarAsync<long>(
        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname = current_database()");
}

/// <summary>Disposes (kills) silo processes together.</summary>
internal sealed class AsyncDisposables(SiloProcess[] silos) : IAsyncDisposable
{
    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var silo in silos)
        {
            await silo.DisposeAsync();
        }
    }
}
