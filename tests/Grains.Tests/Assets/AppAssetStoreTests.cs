using GenerationWorker.Grains.Assets;
using GenerationWorker.Grains.Postgres;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace GenerationWorker.Grains.Tests.Assets;

/// <summary>
/// The completion that writes the app's asset rows, product links and collection status with the job's row, against a
/// real, migrated database holding the app's tables.
/// </summary>
public sealed class AppAssetStoreTests : IAsyncLifetime
{
    private const string Client = "client_a";
    private string _connectionString = "";
    private NpgsqlDataSource _dataSource = null!;
    private JobTable _jobs = null!;
    private AppSchema _app = null!;
    private AppAssetStore _store = null!;

    public async Task InitializeAsync()
    {
        _connectionString = await PostgresServer.CreateDatabaseAsync("assets");
        await new SchemaMigrator(NullLogger<SchemaMigrator>.Instance).MigrateAsync(_connectionString, CancellationToken.None);
        _dataSource = NpgsqlDataSource.Create(_connectionString);
        _jobs = new JobTable(_connectionString);
        _app = new AppSchema(_connectionString);
        await _app.CreateAsync();
        await _app.AddClientAsync(Client, "prod_1", "prod_2");
        _store = new AppAssetStore(_dataSource);
    }

    public async Task DisposeAsync()
    {
        await _dataSource.DisposeAsync();
        await PostgresServer.DropDatabaseAsync(_connectionString);
    }

    [Fact]
    public async Task TablesPresent_TrueOnceTheAppCreatedThem()
    {
        Assert.True(await _store.TablesPresentAsync(CancellationToken.None));
        await _app.ExecuteAsync("DROP TABLE generated_asset_product");

        Assert.False(await _store.TablesPresentAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Completion_CompletesPlaceholdersInsertsTheRest_AndLinksEveryAssetToEveryProduct()
    {
        await _app.AddFlowAsync(Client, "flow_1");
        var (id, lease) = await ClaimedJobAsync("flow_1");
        await _app.AddPlaceholderAsync("ph_b", Client, id, "flow_1");
        await _app.AddPlaceholderAsync("ph_a", Client, id, "flow_1");
        var placeholders = await _store.PlaceholdersAsync(id, CancellationToken.None);
        var ids = AssetIds.Assign(id, [0, 1, 2, 3], placeholders, []);

        var written = await _store.CompleteAsync(Completion(id, lease, "flow_1", ids.Values, ["prod_1", "prod_2"]), CancellationToken.None);

        Assert.NotNull(written);
        Assert.Equal(["ph_b", "ph_a"], placeholders);
        Assert.Equal(["ph_b", "ph_a"], new[] { ids[0], ids[1] });
        var assets = await _app.AssetsAsync(id);
        Assert.Equal(4, assets.Count);
        Assert.All(assets, asset =>
        {
            Assert.Equal(("completed", "image", "flow_1", Client), (asset.Status, asset.AssetType, asset.FlowId, asset.ClientId));
            Assert.Equal($"https://cdn.test/{asset.Id}.webp", asset.AssetUrl);
            Assert.Equal($"https://cdn.test/{asset.Id}_original.png", asset.OriginalUrl);
            Assert.Equal("""["prod_1", "prod_2"]""", asset.ProductIdsJson);
            Assert.Contains("\"aspectRatio\": \"1:1\"", asset.SettingsJson);
            Assert.InRange(asset.CompletedAt!.Value, DateTime.UtcNow.AddMinutes(-2), DateTime.UtcNow.AddMinutes(2));
        });
        var links = await _app.LinksAsync(assets.Select(a => a.Id));
        Assert.Equal(8, links.Count);
        Assert.All(links, link => Assert.Equal(link.ProductId == "prod_1", link.Primary));
        Assert.Equal("completed", (await _jobs.GetAsync(id)).Status);
    }

    [Fact]
    public async Task Completion_WithALostLease_WritesNoAssetAndLeavesTheJob()
    {
        var (id, _) = await ClaimedJobAsync(null);
        await _app.AddPlaceholderAsync("ph_stale", Client, id);

        var written = await _store.CompleteAsync(Completion(id, Guid.NewGuid(), null, ["ph_stale", "asset_x"], ["prod_1"]), CancellationToken.None);

        Assert.Null(written);
        var asset = Assert.Single(await _app.AssetsAsync(id));
        Assert.Equal(("ph_stale", "pending", ""), (asset.Id, asset.Status, asset.AssetUrl));
        Assert.Empty(await _app.LinksAsync(["ph_stale", "asset_x"]));
        Assert.Equal("processing", (await _jobs.GetAsync(id)).Status);
    }

    [Fact]
    public async Task Completion_ADeletedProductAndADeletedFlow_DoNotFailIt()
    {
        await _app.AddFlowAsync(Client, "flow_gone");
        var (id, lease) = await ClaimedJobAsync("flow_gone");
        await _app.ExecuteAsync("DELETE FROM generation_flow WHERE id = 'flow_gone'");

        var written = await _store.CompleteAsync(Completion(id, lease, "flow_gone", ["asset_1"], ["prod_missing", "prod_2"]), CancellationToken.None);

        Assert.Equal(["prod_missing"], written!.MissingProducts);
        var asset = Assert.Single(await _app.AssetsAsync(id));
        Assert.Null(asset.FlowId);
        Assert.Equal([("asset_1", "prod_2", false)], await _app.LinksAsync(["asset_1"]));
        Assert.Equal("completed", (await _jobs.GetAsync(id)).Status);
    }

    [Fact]
    public async Task Completion_Repeated_NeverDuplicatesAnAsset()
    {
        var (id, lease) = await ClaimedJobAsync(null);
        Assert.NotNull(await _store.CompleteAsync(Completion(id, lease, null, ["asset_r"], ["prod_1"]), CancellationToken.None));
        var lease2 = await _jobs.ScalarAsync<Guid>(
            "UPDATE generation_job SET status = 'processing', lease_token = gen_random_uuid() WHERE id = @id RETURNING lease_token", ("id", id));

        Assert.NotNull(await _store.CompleteAsync(Completion(id, lease2, null, ["asset_r"], ["prod_1"]), CancellationToken.None));

        Assert.Single(await _app.AssetsAsync(id));
        Assert.Single(await _app.LinksAsync(["asset_r"]));
    }

    [Fact]
    public async Task LastTwoJobsOfACollection_CompletingAtOnce_AlwaysMarkItCompleted()
    {
        for (var round = 0; round < 25; round++)
        {
            var collection = $"col_{round}";
            await _app.AddCollectionAsync(Client, collection, $"flow_{round}_a", $"flow_{round}_b");
            var first = await ClaimedJobAsync($"flow_{round}_a");
            var second = await ClaimedJobAsync($"flow_{round}_b");
            await _app.AddPlaceholderAsync($"ph_{round}_a", Client, first.Id, $"flow_{round}_a");
            await _app.AddPlaceholderAsync($"ph_{round}_b", Client, second.Id, $"flow_{round}_b");

            await Task.WhenAll(
                Task.Run(() => _store.CompleteAsync(Completion(first.Id, first.Lease, $"flow_{round}_a", [$"ph_{round}_a"], []), CancellationToken.None)),
                Task.Run(() => _store.CompleteAsync(Completion(second.Id, second.Lease, $"flow_{round}_b", [$"ph_{round}_b"], []), CancellationToken.None)));

            Assert.Equal("completed", await _app.CollectionStatusAsync(collection));
        }
    }

    [Fact]
    public async Task Collection_WithAnAssetStillPending_StaysGenerating()
    {
        await _app.AddCollectionAsync(Client, "col_open", "flow_done", "flow_waiting");
        var done = await ClaimedJobAsync("flow_done");
        var waiting = await ClaimedJobAsync("flow_waiting");
        await _app.AddPlaceholderAsync("ph_waiting", Client, waiting.Id, "flow_waiting");

        await _store.CompleteAsync(Completion(done.Id, done.Lease, "flow_done", ["asset_done"], []), CancellationToken.None);

        Assert.Equal("generating", await _app.CollectionStatusAsync("col_open"));
    }

    private static JobCompletion Completion(string id, Guid lease, string? flowId, IEnumerable<string> assetIds, IReadOnlyList<string> products)
    {
        var files = assetIds.Select(a => new AssetFile(a, $"https://cdn.test/{a}.webp", $"https://cdn.test/{a}_original.png")).ToList();
        var assets = new AssetWrite(Client, flowId, id, "image", "a prompt", """{"aspectRatio": "1:1"}""", products, files);
        return new JobCompletion(id, lease, """{"imageIds":[]}""", null, assets);
    }

    private async Task<(string Id, Guid Lease)> ClaimedJobAsync(string? flowId)
    {
        var id = await _jobs.InsertAsync("image_generation", new { prompt = "assets" }, clientId: Client, flowId: flowId);
        var lease = await _jobs.ScalarAsync<Guid>(
            """
            UPDATE generation_job SET status = 'processing', attempts = 1, lease_token = gen_random_uuid(), locked_by = 'test',
                lease_expires_at = now() + interval '1 hour', started_at = now()
            WHERE id = @id RETURNING lease_token
            """, ("id", id));
        return (id, lease);
    }
}
