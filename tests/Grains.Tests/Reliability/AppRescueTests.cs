using GenerationWorker.GeminiEmulator;
using GenerationWorker.Grains.Assets;
using GenerationWorker.TestSupport;
using Npgsql;
using Xunit.Abstractions;

namespace GenerationWorker.Grains.Tests.Reliability;

/// <summary>
/// Silo processes as the web app's deployment runs them: the app's tables in the database (created before any silo
/// starts), the S3 server for storage, and an emulator answering images of the models' real pixel sizes.
/// </summary>
public sealed class AppProcessFixture : ReliabilityFixture
{
    public const string Client = "client_app";

    public S3ServerFixture S3 { get; } = new();

    public AppSchema App { get; private set; } = null!;

    public string PublicBase => S3.BucketUrl;

    protected override bool StartsSilo => false;

    public override async Task InitializeAsync()
    {
        await S3.InitializeAsync();
        await base.InitializeAsync();
        App = new AppSchema(ConnectionString);
        await App.CreateAsync();
        await App.AddClientAsync(Client, "prod_1", "prod_2");
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await S3.DisposeAsync();
    }

    /// <summary>The bytes of a stored object, read back from the S3 server.</summary>
    public async Task<byte[]> ObjectAsync(string key)
    {
        using var http = new HttpClient();
        return await http.GetByteArrayAsync(S3.ObjectUrl(key));
    }

    /// <summary>The key of a public URL the service wrote.</summary>
    public string KeyOf(string url) => Uri.UnescapeDataString(url[(PublicBase.TrimEnd('/').Length + 1)..]);

    protected override EmulatorOptions CreateEmulatorOptions() => new() { RealImageSizes = true, RequestLogCapacity = 20_000 };

    protected override void Configure(Dictionary<string, string?> env)
    {
        S3.ConfigureSilo(env);
        // The hung requests must still be waiting when the silo is killed, not time out and be asked again before.
        env["GEMINI_TIMEOUT_SECONDS"] = "300";
    }
}

/// <summary>What the web app reads after a silo was killed (kill -9) in the middle of a generation, and another one rescued it.</summary>
[Collection(ReliabilityCollection.Name)]
public sealed class AppRescueTests(AppProcessFixture fixture, ITestOutputHelper output) : IClassFixture<AppProcessFixture>
{
    private const string Client = AppProcessFixture.Client;

    [Fact]
    public async Task Generation_KilledWithTwoOfFourVariantsStored_IsRescued_CompletesTwoPlaceholdersAndTwoNewRows_WithoutAskingOrUploadingTheStoredOnesAgain()
    {
        var env = fixture.Environment();
        var flow = "flow_" + Guid.NewGuid().ToString("N")[..8];
        await fixture.App.AddFlowAsync(Client, flow);
        var id = "job_" + Guid.NewGuid().ToString("N");
        string[] placeholders = ["ph_1_" + id, "ph_2_" + id];
        foreach (var placeholder in placeholders)
        {
            await fixture.App.AddPlaceholderAsync(placeholder, Client, id, flow);
        }

        // The first two requests of this prompt hang until their client goes away; later ones answer.
        var prompt = "[emulate:hang-x2] four rescued sofas " + Guid.NewGuid();
        var folder = $"clients/{Client}/generations/{flow}/assets/";
        await using var first = SiloProcess.Start(env);
        await first.WaitHealthyAsync(TimeSpan.FromSeconds(90));
        var firstId = await SiloStatus.IdentityAsync(first.HttpBase);
        await fixture.Jobs.InsertAsync("image_generation", new
        {
            prompt,
            productIds = new[] { "prod_1", "prod_2" },
            sessionId = "session_1",
            settings = new { aspectRatio = "16:9", numberOfVariants = 4, promptTags = new[] { "warm" } },
        }, id: id, clientId: Client, flowId: flow);

        await Eventually.ValueAsync(() => OutputsAsync(id), rows => rows.Count == 2, TimeSpan.FromSeconds(60), "2 variants recorded");
        await Eventually.UntilAsync(() => fixture.Gemini.Stats.InFlight == 2, TimeSpan.FromSeconds(10), "the 2 other requests hang");
        var before = await OutputsAsync(id);
        var storedBefore = await fixture.S3.StoredCountsAsync();
        Assert.Equal("processing", (await fixture.Jobs.GetAsync(id)).Status);
        Assert.Equal(2, fixture.Gemini.ReceivedRequests(prompt).Count(r => r.Outcome == RequestOutcome.Success));
        Assert.All(before, row => Assert.Equal((1, 1), (storedBefore.GetValueOrDefault(row.Key), storedBefore.GetValueOrDefault(row.OriginalKey))));

        var killedAt = DateTimeOffset.UtcNow;
        await first.KillAsync();
        await using var second = SiloProcess.Start(env);
        await second.WaitHealthyAsync(TimeSpan.FromSeconds(120));
        var secondId = await SiloStatus.IdentityAsync(second.HttpBase);
        var job = await fixture.Jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(120));
        var doneAfter = DateTimeOffset.UtcNow - killedAt;

        Assert.True(job.Status == "completed", job.Error + "\n" + second.Output);
        Assert.Equal((2, secondId), (job.Attempts, job.LockedBy));
        var rescue = Assert.Single(await fixture.AuditAsync(id), e => e.From == "processing" && e.To == "pending");
        Assert.Equal(firstId, rescue.Worker);
        Assert.StartsWith("worker lost: ", rescue.Error, StringComparison.Ordinal);

        // The asset ids: the 2 placeholders and 2 ids of the service, each variant keeping the id it was stored under.
        Assert.Equal(4, job.ImageIds.Count);
        Assert.Equal(4, job.ImageIds.Distinct().Count());
        Assert.Equal(placeholders.Order(), job.ImageIds.Where(placeholders.Contains).Order());
        for (var variant = 0; variant < 4; variant++)
        {
            Assert.True(
                placeholders.Contains(job.ImageIds[variant]) || job.ImageIds[variant] == AssetIds.ForVariant(id, variant),
                $"variant {variant}: unexpected asset id {job.ImageIds[variant]}");
        }

        foreach (var row in before)
        {
            Assert.Equal(row.ImageId, job.ImageIds[row.Variant]);
        }

        var after = await OutputsAsync(id);
        Assert.Equal(job.ImageIds, after.Select(row => row.ImageId));

        // The rows the app reads: 4 assets of the job, no other asset anywhere, each completed at its own keys.
        var assets = await fixture.App.AssetsAsync(id);
        Assert.Equal(job.ImageIds.Order(), assets.Select(a => a.Id).Order());
        Assert.Equal(4L, await fixture.Jobs.ScalarAsync<long>("SELECT count(*) FROM generated_asset"));
        var expectedKeys = new List<string>();
        foreach (var (assetId, url) in job.ImageIds.Zip(job.ImageUrls))
        {
            var asset = Assert.Single(assets, a => a.Id == assetId);
            Assert.Equal(("completed", url, flow, prompt), (asset.Status, asset.AssetUrl, asset.FlowId, asset.Prompt));
            Assert.NotNull(asset.CompletedAt);
            var key = folder + assetId + ".webp";
            var originalKey = folder + assetId + "_original.png";
            Assert.Equal((key, originalKey), (fixture.KeyOf(asset.AssetUrl), fixture.KeyOf(asset.OriginalUrl!)));
            Assert.Equal(("webpload", 1344, 768), Decode(await fixture.ObjectAsync(key)));
            Assert.Equal(("pngload", 1344, 768), Decode(await fixture.ObjectAsync(originalKey)));
            expectedKeys.Add(key);
            expectedKeys.Add(originalKey);
        }

        var links = await fixture.App.LinksAsync(job.ImageIds);
        Assert.Equal(job.ImageIds.SelectMany(a => new[] { (a, "prod_1", true), (a, "prod_2", false) }).Order(), links.Order());

        // Never paid twice: 2 answers before the kill, 2 after it, and the 2 hung requests, given up by the kill.
        var requests = await Eventually.ValueAsync(() => Task.FromResult(fixture.Gemini.ReceivedRequests(prompt)), r => r.Count >= 6,
            TimeSpan.FromSeconds(10), "the hung requests end with the killed silo");
        Assert.Equal(6, requests.Count);
        Assert.Equal(4, requests.Count(r => r.Outcome == RequestOutcome.Success));
        Assert.Equal(2, requests.Count(r => r.Outcome == RequestOutcome.Abandoned && r.Fault == FaultKind.Hang));

        // Never uploaded twice: the server stored each of the 8 keys once, the stored variants' keys before the kill.
        var stored = await fixture.S3.StoredCountsAsync();
        var inFolder = stored.Where(entry => entry.Key.StartsWith(folder, StringComparison.Ordinal)).ToDictionary();
        Assert.Equal(expectedKeys.Order(), inFolder.Keys.Order());
        Assert.All(inFolder, entry => Assert.True(entry.Value == 1, $"{entry.Key} stored {entry.Value} times"));

        output.WriteLine(
            $"silo {firstId} killed with variants {string.Join(", ", before.Select(r => r.Variant))} stored; job completed on {secondId} "
            + $"{doneAfter.TotalSeconds:0.0} s after the kill (rescue: {rescue.Error}); Gemini requests: {requests.Count} "
            + $"({string.Join(", ", requests.Select(r => r.Outcome))}); uploads per key: {string.Join(", ", inFolder.Values)}");
    }

    private static (string Loader, int Width, int Height) Decode(byte[] bytes)
    {
        // Decodes every pixel: a truncated or corrupt file fails here.
        using var image = NetVips.Image.NewFromBuffer(bytes, failOn: NetVips.Enums.FailOn.Error);
        _ = image.Avg();
        var loader = (string)image.Get("vips-loader");
        return (loader.EndsWith("_buffer", StringComparison.Ordinal) ? loader[..^"_buffer".Length] : loader, image.Width, image.Height);
    }

    private async Task<IReadOnlyList<(int Variant, string ImageId, string Key, string OriginalKey)>> OutputsAsync(string jobId)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT variant, image_id, object_key, original_key FROM generation_job_output WHERE job_id = @id ORDER BY variant", connection);
        command.Parameters.AddWithValue("id", jobId);
        var rows = new List<(int, string, string, string)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)));
        }

        return rows;
    }
}
