using GenerationWorker.GeminiEmulator;
using GenerationWorker.Grains.Cost;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace GenerationWorker.Grains.Tests.Cost;

/// <summary>
/// A database with the app's tables and its <c>ai_cost_tracking</c>, the Gemini emulator (Veo operations of 2 s), a
/// reference image server and one silo of the real service whose Gemini requests time out after 4 s.
/// </summary>
public sealed class CostFixture : IAsyncLifetime
{
    public GeminiEmulatorHandle Gemini { get; private set; } = null!;

    public ReferenceImageServer References { get; } = new();

    public string StorageDirectory { get; } = Path.Combine(Path.GetTempPath(), "worker-files-" + Guid.NewGuid().ToString("N"));

    public string ConnectionString { get; private set; } = "";

    public JobTable Jobs { get; private set; } = null!;

    public WorkerSilo Silo { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Gemini = await GeminiEmulatorServer.StartAsync(new EmulatorOptions { VideoGenerationTime = TimeSpan.FromSeconds(2) });
        await References.InitializeAsync();
        ConnectionString = await PostgresServer.CreateDatabaseAsync("cost");
        Jobs = new JobTable(ConnectionString);
        var app = new AppSchema(ConnectionString);
        await app.CreateAsync();
        await app.CreateCostTrackingAsync();
        await app.AddClientAsync("client-1", "prod-1");
        var env = WorkerSilo.BaseEnvironment(ConnectionString, Gemini.BaseUrl, Gemini.ApiKey, StorageDirectory);
        env["VIDEO_POLL_SECONDS"] = "1";
        env["GEMINI_TIMEOUT_SECONDS"] = "4";
        Silo = await WorkerSilo.StartAsync(env);
    }

    public async Task DisposeAsync()
    {
        await Silo.DisposeAsync();
        await Gemini.DisposeAsync();
        await References.DisposeAsync();
        await PostgresServer.DropDatabaseAsync(ConnectionString);
        if (Directory.Exists(StorageDirectory))
        {
            Directory.Delete(StorageDirectory, recursive: true);
        }
    }
}

public sealed class CostLedgerTests(CostFixture fixture) : IClassFixture<CostFixture>
{
    private sealed record LedgerRow(string JobId, string Model, string State, long? CostMicros, long ExpectedMicros, int? InputTokens, string? Error);

    [Fact]
    public async Task Ledger_MatchesTheEmulatorsBilledAnswersOneForOne_AndJobTotals()
    {
        var tag = Guid.NewGuid().ToString("N")[..10];
        var jobs = fixture.Jobs;
        var ids = new Dictionary<string, string>
        {
            ["1k"] = await jobs.InsertAsync("image_generation", new { prompt = $"bottle 1k {tag}", settings = new { imageQuality = "1k" } }),
            ["2k"] = await jobs.InsertAsync("image_generation", new { prompt = $"bottle 2k {tag}", settings = new { imageQuality = "2k" } }),
            ["4k"] = await jobs.InsertAsync("image_generation", new { prompt = $"bottle 4k {tag}", settings = new { imageQuality = "4k" } }),
            ["edit"] = await jobs.InsertAsync("image_edit", new
            {
                sourceImageUrl = fixture.References.Url("ref.png"),
                editPrompt = $"[emulate:503@gemini-3-pro-image] edit {tag}",
                aspectRatio = "1:1",
                previewOnly = false,
            }),
            ["blocked"] = await jobs.InsertAsync("image_generation", new { prompt = $"[emulate:blocked] blocked {tag}" }, maxAttempts: 1),
            ["503"] = await jobs.InsertAsync("image_generation", new { prompt = $"[emulate:503-once] overloaded {tag}" }),
            ["timeout"] = await jobs.InsertAsync("image_generation", new { prompt = $"[emulate:hang] hangs {tag}" }, maxAttempts: 1),
            ["video"] = await jobs.InsertAsync("video_generation", new { prompt = $"a turntable {tag}" }),
        };

        var ended = (await jobs.WaitAllFinalAsync(ids.Values, TimeSpan.FromMinutes(3))).ToDictionary(job => job.Id);
        var ledger = await LedgerAsync(ids.Values);

        // Every image request answered 200 is one billed row, per model; nothing else is billed.
        var answered = fixture.Gemini.Stats.Snapshot().RecentRequests
            .Where(entry => entry.Prompt.Contains(tag, StringComparison.Ordinal) && entry.Status == 200)
            .GroupBy(entry => entry.Model)
            .ToDictionary(group => group.Key, group => group.Count());
        var billed = ledger.Where(row => row.State == "billed" && !row.Model.StartsWith("veo", StringComparison.Ordinal))
            .GroupBy(row => row.Model)
            .ToDictionary(group => group.Key, group => group.Count());
        Assert.Equal(answered.OrderBy(p => p.Key), billed.OrderBy(p => p.Key));
        Assert.Equal(2, billed["gemini-3-pro-image"]);

        // The video's start is billed once its operation made a video: 8 s at $0.40.
        var videos = fixture.Gemini.Stats.Video.Operations.Count(operation => operation.Prompt.Contains(tag, StringComparison.Ordinal));
        Assert.Equal(1, videos);
        var video = Assert.Single(ledger, row => row.JobId == ids["video"]);
        Assert.Equal(("billed", 3_200_000L), (video.State, video.CostMicros!.Value));

        // The request that timed out is possibly billed at its full price, and marked.
        var timedOut = Assert.Single(ledger, row => row.JobId == ids["timeout"]);
        Assert.Equal(("possibly_billed", 39_000L), (timedOut.State, timedOut.CostMicros!.Value));
        Assert.Contains("No answer", timedOut.Error, StringComparison.Ordinal);
        Assert.Equal(1, ledger.Count(row => row.State == "possibly_billed"));

        // The 503s are recorded, not billed; the edit's fallback is billed at its own price.
        Assert.Equal(2, ledger.Count(row => row.State == "not_billed"));
        Assert.Equal(
            ["not_billed gemini-3-pro-image", "billed gemini-2.5-flash-image"],
            ledger.Where(row => row.JobId == ids["edit"]).Select(row => row.State + " " + row.Model));

        // A block still costs its input tokens.
        var block = Assert.Single(ledger, row => row.JobId == ids["blocked"]);
        Assert.True(block.InputTokens > 0);
        Assert.Equal((block.InputTokens!.Value * 300_000L + 500_000) / 1_000_000, block.CostMicros);

        // Each completed job's costUsd is its exact total.
        Assert.Equal(0.039m, CostUsd(ended[ids["1k"]]));
        Assert.Equal(0.134m, CostUsd(ended[ids["2k"]]));
        Assert.Equal(0.24m, CostUsd(ended[ids["4k"]]));
        Assert.Equal(3.2m, CostUsd(ended[ids["video"]]));
        foreach (var job in ended.Values.Where(job => job.Status == "completed"))
        {
            var total = ledger.Where(row => row.JobId == job.Id && row.State is "billed" or "possibly_billed").Sum(row => row.CostMicros!.Value);
            Assert.Equal(PriceTable.Dollars(total), CostUsd(job));
        }

        // One cost record per billed or possibly billed request, in the app's table, cents rounded.
        var records = await ScalarAsync<long>(
            "SELECT count(*) FROM ai_cost_tracking WHERE job_id = ANY(@ids)", ids.Values.ToArray());
        Assert.Equal(ledger.Count(row => row.State is "billed" or "possibly_billed"), records);
        Assert.Equal(4, await ScalarAsync<int>("SELECT cost_usd_cents FROM ai_cost_tracking WHERE job_id = ANY(@ids)", [ids["1k"]]));
    }

    [Fact]
    public async Task Rescue_SettlesTheOpenIntentOfADeadSiloAsPossiblyBilled()
    {
        var requestId = Guid.NewGuid();
        var live = Guid.NewGuid();
        var jobId = "job_" + Guid.NewGuid().ToString("N");
        await using (var connection = new NpgsqlConnection(fixture.ConnectionString))
        {
            await connection.OpenAsync();
            await using var insert = new NpgsqlCommand(
                """
                INSERT INTO gemini_cost_ledger (request_id, job_id, client_id, attempt, call, operation_type, model, owner, expected_micros)
                VALUES (@dead, @job, 'client-1', 1, 'variant 0', 'image_generation', 'gemini-3-pro-image', 'S127.0.0.1:1:1', 240000),
                       (@live, @job, 'client-1', 1, 'variant 1', 'image_generation', 'gemini-3-pro-image', 'S127.0.0.1:2:2', 134000)
                """, connection);
            insert.Parameters.AddWithValue("dead", requestId);
            insert.Parameters.AddWithValue("live", live);
            insert.Parameters.AddWithValue("job", jobId);
            await insert.ExecuteNonQueryAsync();
        }

        var settled = await fixture.Silo.Services.GetRequiredService<CostLedger>().SettleOwnersAsync(["S127.0.0.1:1:1"], CancellationToken.None);

        Assert.Equal(1, settled);
        var rows = await LedgerAsync([jobId]);
        // Rows come in request id order (random): the dead owner's is settled, the live one's stays open.
        Assert.Equal(["open ", "possibly_billed 240000"], rows.Select(row => row.State + " " + row.CostMicros).Order());
        Assert.Equal(24, await ScalarAsync<int>("SELECT cost_usd_cents FROM ai_cost_tracking WHERE job_id = ANY(@ids)", [jobId]));
    }

    private static decimal CostUsd(JobSnapshot job) => job.Result!.Value.GetProperty("costUsd").GetDecimal();

    private async Task<IReadOnlyList<LedgerRow>> LedgerAsync(IEnumerable<string> jobIds)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT job_id, model, state, cost_micros, expected_micros, input_tokens, error FROM gemini_cost_ledger
            WHERE job_id = ANY(@ids) ORDER BY request_id
            """, connection);
        command.Parameters.AddWithValue("ids", jobIds.ToArray());
        var rows = new List<LedgerRow>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(new LedgerRow(
                reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetInt64(3),
                reader.GetInt64(4), reader.IsDBNull(5) ? null : reader.GetInt32(5), reader.IsDBNull(6) ? null : reader.GetString(6)));
        }

        return rows;
    }

    private async Task<T> ScalarAsync<T>(string sql, string[] ids)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("ids", ids);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
