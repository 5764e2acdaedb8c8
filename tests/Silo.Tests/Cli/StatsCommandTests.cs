using GenerationWorker.Interfaces;
using GenerationWorker.Silo.Cli;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using GenerationWorker.Grains.Postgres;

namespace GenerationWorker.Silo.Tests.Cli;

/// <summary><c>stats</c> and <c>retry</c> against a database a real silo works on (Gemini: the project's emulator).</summary>
public sealed class StatsCommandTests(GeminiEmulatorFixture gemini) : IClassFixture<GeminiEmulatorFixture>, IAsyncLifetime
{
    private readonly string _storage = Path.Combine(Path.GetTempPath(), "cli-stats-" + Guid.NewGuid().ToString("N"));
    private string _cs = "";
    private WorkerSilo? _silo;

    private JobTable Jobs => new(_cs);

    private WorkerSilo Silo => _silo!;

    public async Task InitializeAsync()
    {
        _cs = await PostgresServer.CreateDatabaseAsync("cli");
        await new SchemaMigrator(NullLogger<SchemaMigrator>.Instance).MigrateAsync(_cs, CancellationToken.None);
        _silo = await WorkerSilo.StartAsync(WorkerSilo.BaseEnvironment(_cs, gemini.BaseUrl, gemini.ApiKey, _storage));
    }

    public async Task DisposeAsync()
    {
        if (_silo is not null)
        {
            await _silo.DisposeAsync();
        }

        await PostgresServer.DropDatabaseAsync(_cs);
        if (Directory.Exists(_storage))
        {
            Directory.Delete(_storage, recursive: true);
        }
    }

    [Fact]
    public async Task Stats_CountsJobsAndTheLastMinute_AndReadsGeminiRequestsFromTheQuotaGrainsSavedState()
    {
        var enqueued = await Cli.RunAsync(_cs, "enqueue", "--type", "image_generation", "--prompt", "three chairs", "--variants", "3");
        var id = Assert.Single(enqueued.Lines);
        Assert.Equal("completed", (await Jobs.WaitFinalAsync(id)).Status);

        // The silo reports its uses within half a second and the quota grain saves what it was told about once a second:
        // 3 sent in the last minute, not paused (the idle silo holds a few permits ahead: leased, and granted today).
        var stats = await Eventually.ValueAsync(
            StatsAsync,
            s => s.Get("gemini budget", "gemini-2.5-flash-image") is { } row
                 && row.Split(' ', StringSplitOptions.RemoveEmptyEntries) is ["3", _, _, "no"],
            TimeSpan.FromSeconds(30),
            "stats show the 3 requests sent and the budget not paused",
            TimeSpan.FromMilliseconds(100),
            s => "\n" + s.Raw);
        Assert.Equal("1", stats.Get("jobs", "completed"));
        Assert.Equal("0", stats.Get("jobs", "pending"));
        Assert.Equal("1", stats.Get("last minute", "completed"));
        Assert.Equal("3", stats.Get("last minute", "images stored"));
        Assert.Equal("none waiting", stats.Get("last minute", "oldest claimable job waited"));

    }

    [Fact]
    public async Task Cost_TotalsTheLedgerByClientModelAndDay_FilteredByClient()
    {
        var cs = await PostgresServer.CreateDatabaseAsync("cli");
        try
        {
            await new SchemaMigrator(NullLogger<SchemaMigrator>.Instance).MigrateAsync(cs, CancellationToken.None);
            await using (var connection = new Npgsql.NpgsqlConnection(cs))
            {
                await connection.OpenAsync();
                await using var insert = new Npgsql.NpgsqlCommand(
                    """
                    INSERT INTO gemini_cost_ledger (request_id, job_id, client_id, attempt, call, operation_type, model, owner, expected_micros, state, cost_micros)
                    VALUES (gen_random_uuid(), 'j1', 'acme', 1, 'variant 0', 'image_generation', 'gemini-2.5-flash-image', 's', 39000, 'billed', 39000),
                           (gen_random_uuid(), 'j1', 'acme', 1, 'variant 1', 'image_generation', 'gemini-2.5-flash-image', 's', 39000, 'possibly_billed', 39000),
                           (gen_random_uuid(), 'j2', 'other', 1, 'variant 0', 'image_generation', 'gemini-3-pro-image', 's', 240000, 'billed', 240000),
                           (gen_random_uuid(), 'j2', 'other', 1, 'variant 1', 'image_generation', 'gemini-3-pro-image', 's', 240000, 'not_billed', 0)
                    """, connection);
                await insert.ExecuteNonQueryAsync();
            }

            var all = await Cli.RunAsync(cs, "cost");
            var acme = await Cli.RunAsync(cs, "cost", "--client", "acme", "--since", "2020-01-01");
            var bad = await Cli.RunAsync(cs, "cost", "--since", "yesterday");

            Assert.Equal(0, all.ExitCode);
            var total = all.Out.Split('\n').Single(line => line.StartsWith("total", StringComparison.Ordinal));
            Assert.Equal(["total", "0.279000", "2", "0.039000", "1"], total.Split(' ', StringSplitOptions.RemoveEmptyEntries));
            Assert.DoesNotContain("other", acme.Out, StringComparison.Ordinal);
            Assert.Contains("acme", acme.Out, StringComparison.Ordinal);
            Assert.Equal(2, bad.ExitCode);
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(cs);
        }
    }

    [Fact]
    public async Task Stats_OnADatabaseNoSiloWorkedOn_SaysNothingIsSavedYet()
    {
        var cs = await PostgresServer.CreateDatabaseAsync("cli");
        try
        {
            await new SchemaMigrator(NullLogger<SchemaMigrator>.Instance).MigrateAsync(cs, CancellationToken.None);
            var result = await Cli.RunAsync(cs, "stats");

            Assert.Equal(0, result.ExitCode);
            Assert.Equal("nothing saved yet (no silo has asked for budget)", Stats.Parse(result.Out).Budget);
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(cs);
        }
    }

    [Fact]
    public async Task Stats_ShowsThePauseAfterA429AsTheQuotaGrainSavedIt()
    {
        var quota = Silo.Grains.GetGrain<IQuotaGrain>(IQuotaGrain.SingletonKey);
        await quota.ReportThrottledAsync("gemini-3-pro-image", TimeSpan.FromMinutes(5), perDay: false);
        var pausedUntil = (await quota.GetStatusAsync()).Models.Single(m => m.Model == "gemini-3-pro-image").PausedUntil!.Value;

        var result = await Cli.RunAsync(_cs, "stats");

        // The model's row ends with its pause; other models are not paused.
        Assert.Contains(result.Lines, line => line.TrimStart().StartsWith("gemini-3-pro-image ", StringComparison.Ordinal)
            && line.EndsWith("until " + pausedUntil.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'"), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Retry_AFailedJob_IsRunAgainByTheWorkerWithFreshAttempts()
    {
        var id = "job_" + Guid.NewGuid().ToString("N");
        await Jobs.ExecuteAsync(
            """
            INSERT INTO generation_job (id, client_id, type, payload, status, attempts, error, completed_at)
            VALUES (@id, 'client-1', 'image_generation', '{"prompt": "again"}', 'failed', 3, 'Gemini error 500: internal', now())
            """, ("id", id));

        var retried = await Cli.RunAsync(_cs, "retry", id);

        Assert.Equal(0, retried.ExitCode);
        var job = await Jobs.WaitFinalAsync(id);
        Assert.Equal(("completed", 1, null), (job.Status, job.Attempts, job.Error));
        var status = await Cli.RunAsync(_cs, "status", id);
        Assert.Contains(status.Lines, line => line.StartsWith("images:      http", StringComparison.Ordinal));
    }

    private async Task<Stats> StatsAsync()
    {
        var result = await Cli.RunAsync(_cs, "stats");
        Assert.Equal(0, result.ExitCode);
        return Stats.Parse(result.Out);
    }

    /// <summary>The printed stats as (section, label) to value.</summary>
    private sealed record Stats(Dictionary<(string, string), string> Values, string? Budget, string Raw)
    {
        public string? Get(string section, string label) => Values.GetValueOrDefault((section, label));

        public static Stats Parse(string output)
        {
            var values = new Dictionary<(string, string), string>();
            string? budget = null;
            var section = "";
            foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                if (!line.StartsWith("  ", StringComparison.Ordinal))
                {
                    section = line.StartsWith("gemini budget", StringComparison.Ordinal) ? "gemini budget" : line.Trim();
                    budget = line.StartsWith("gemini budget: ", StringComparison.Ordinal) ? line["gemini budget: ".Length..].Trim() : budget;
                }
                else if (line.Length > 36 && !line.StartsWith("  (", StringComparison.Ordinal))
                {
                    values[(section, line[2..36].Trim())] = line[36..].Trim();
                }
            }

            return new Stats(values, budget, output);
        }
    }
}
