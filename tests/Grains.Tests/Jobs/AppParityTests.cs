using System.Text.Json;
using GenerationWorker.GeminiEmulator;
using GenerationWorker.Grains.Images;
using GenerationWorker.Grains.Storage;
using GenerationWorker.Grains.Tests.Gemini;
using GenerationWorker.TestSupport;

namespace GenerationWorker.Grains.Tests.Jobs;

/// <summary>
/// A silo as the web app's deployment runs it: the app's tables in the database, the S3 server for storage, and an
/// emulator answering images of the models' real pixel sizes.
/// </summary>
public sealed class AppParityFixture : PipelineFixture
{
    public const string Client = "client_app";

    public AppParityFixture()
        : base(new RealSizeEmulator())
    {
    }

    public S3ServerFixture S3 { get; } = new();

    public AppSchema App { get; private set; } = null!;

    public string PublicBase => S3.BucketUrl;

    public override async Task InitializeAsync()
    {
        await S3.InitializeAsync();
        await base.InitializeAsync();
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

    protected override async Task PrepareDatabaseAsync()
    {
        App = new AppSchema(ConnectionString);
        await App.CreateAsync();
        await App.AddClientAsync(Client, "prod_1", "prod_2");
    }

    protected override void Configure(Dictionary<string, string?> env)
    {
        S3.ConfigureSilo(env);
    }

    private sealed class RealSizeEmulator : GeminiEmulatorFixture
    {
        protected override EmulatorOptions CreateOptions() => new() { RealImageSizes = true };
    }
}

/// <summary>What the web app reads beyond <c>generation_job</c>: asset rows, keys, formats, edits and model routing.</summary>
public sealed class AppParityTests(AppParityFixture fixture) : IClassFixture<AppParityFixture>
{
    private const string Client = AppParityFixture.Client;
    private readonly JobTable _jobs = fixture.Jobs;

    [Fact]
    public async Task Generation_WithTwoPlaceholdersAndFourVariants_CompletesThePlaceholdersAddsTwoRows_AndStoresWebpAndPngAtTheirKeys()
    {
        var flow = "flow_" + Guid.NewGuid().ToString("N")[..8];
        await fixture.App.AddFlowAsync(Client, flow);
        var id = "job_" + Guid.NewGuid().ToString("N");
        await fixture.App.AddPlaceholderAsync("ph_1_" + id, Client, id, flow);
        await fixture.App.AddPlaceholderAsync("ph_2_" + id, Client, id, flow);
        await _jobs.InsertAsync("image_generation", new
        {
            prompt = "four sofas " + Guid.NewGuid(),
            productIds = new[] { "prod_1", "prod_2" },
            sessionId = "session_1",
            settings = new { aspectRatio = "16:9", numberOfVariants = 4, promptTags = new[] { "warm" } },
        }, id: id, clientId: Client, flowId: flow);

        var job = await _jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(60));

        Assert.True(job.Status == "completed", job.Error);
        var assets = await fixture.App.AssetsAsync(id);
        Assert.Equal(4, assets.Count);
        Assert.Equal(["ph_1_" + id, "ph_2_" + id], job.ImageIds.Take(2));
        Assert.Equal(job.ImageIds.Order(), assets.Select(a => a.Id).Order());
        foreach (var (assetId, url) in job.ImageIds.Zip(job.ImageUrls))
        {
            var asset = Assert.Single(assets, a => a.Id == assetId);
            Assert.Equal(("completed", url, flow), (asset.Status, asset.AssetUrl, asset.FlowId));
            var folder = $"clients/{Client}/generations/{flow}/assets/";
            Assert.Equal(folder + assetId + ".webp", fixture.KeyOf(asset.AssetUrl));
            Assert.Equal(folder + assetId + "_original.png", fixture.KeyOf(asset.OriginalUrl!));
            var webp = await fixture.ObjectAsync(fixture.KeyOf(asset.AssetUrl));
            var png = await fixture.ObjectAsync(fixture.KeyOf(asset.OriginalUrl!));
            Assert.Equal("WEBP", System.Text.Encoding.ASCII.GetString(webp, 8, 4));
            Assert.Equal((1344, 768), ImageSize(webp));
            Assert.Equal((1344, 768), Png.Size(png));
            using var settings = JsonDocument.Parse(asset.SettingsJson!);
            Assert.Equal("16:9", settings.RootElement.GetProperty("aspectRatio").GetString());
            Assert.Equal("warm", settings.RootElement.GetProperty("promptTags")[0].GetString());
        }

        var links = await fixture.App.LinksAsync(job.ImageIds);
        Assert.Equal(8, links.Count);
        Assert.All(links, link => Assert.Equal(link.ProductId == "prod_1", link.Primary));
        Assert.Equal("gemini-2.5-flash-image", await ModelAsync(id));
    }

    [Fact]
    public async Task Generation_At2k_GoesToTheHighResModelWithImageSize2K_EvenWhenA1KModelIsOverridden()
    {
        var prompt = "a 2k chair " + Guid.NewGuid();
        var id = await _jobs.InsertAsync("image_generation", new
        {
            prompt,
            settings = new { aspectRatio = "1:1", imageQuality = "2k" },
            modelOverrides = new { imageModel = "gemini-2.5-flash-image" },
        }, clientId: Client);

        var job = await _jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(60));

        Assert.True(job.Status == "completed", job.Error);
        var request = Assert.Single(fixture.Gemini.ReceivedRequests(prompt));
        Assert.Equal(("gemini-3-pro-image", "2K", "1:1"), (request.Model, request.ImageSize, request.AspectRatio));
        Assert.Equal((2048, 2048), Png.Size(await fixture.ObjectAsync(fixture.KeyOf(Assert.Single(await fixture.App.AssetsAsync(id)).OriginalUrl!))));
        Assert.Equal("gemini-3-pro-image", await ModelAsync(id));
    }

    [Fact]
    public async Task Generation_At1k_TakesTheOverride_AndARetiredPreviewIdMapsToItsGaModel()
    {
        var prompt = "a 1k lamp " + Guid.NewGuid();
        var id = await _jobs.InsertAsync("image_generation", new
        {
            prompt,
            settings = new { imageQuality = "1k" },
            modelOverrides = new { imageModel = "gemini-3-pro-image-preview" },
        }, clientId: Client);

        var job = await _jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(60));

        Assert.True(job.Status == "completed", job.Error);
        var request = Assert.Single(fixture.Gemini.ReceivedRequests(prompt));
        Assert.Equal(("gemini-3-pro-image", "1K"), (request.Model, request.ImageSize));
    }

    [Fact]
    public async Task Generation_SendsProductsThenTheirLine_ThenInspirationsThenTheirLine_ThenThePrompt()
    {
        var prompt = "guided scene " + Guid.NewGuid();
        var id = await _jobs.InsertAsync("image_generation", new
        {
            prompt,
            productImageUrls = new[] { fixture.References.Url("ref.png"), fixture.References.Url("ref.jpg") },
            inspirationImageUrl = fixture.References.Url("ref.png"),
        }, clientId: Client);

        var job = await _jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(60));

        Assert.True(job.Status == "completed", job.Error);
        var parts = Assert.Single(fixture.Gemini.ReceivedRequests(prompt)).Parts!;
        Assert.Equal(["image", "image", "text", "image", "text", "text"], parts.Select(p => p.Kind));
        Assert.Equal(ImageGenerationHandler.ProductGuidance, parts[2].Text);
        Assert.Equal(ImageGenerationHandler.InspirationGuidance, parts[4].Text);
        Assert.Equal(prompt, parts[5].Text);
    }

    [Fact]
    public async Task EditPreview_OfA1600x900Source_Comes2048WideInTheSourceRatio_AtThePreviewKey_WithoutAnAspectRatioSent()
    {
        var prompt = "make the sofa green " + Guid.NewGuid();
        var prefix = $"tmp/edit-sessions/{Client}/session_7/";
        var id = await _jobs.InsertAsync("image_edit", new
        {
            sourceImageUrl = DataUrl(1600, 900),
            editPrompt = prompt,
            aspectRatio = "1:1",
            tempStoragePrefix = prefix,
            referenceImages = new[] { new { url = fixture.References.Url("ref.png"), componentName = "cushions" } },
        }, clientId: Client);

        var job = await _jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(60));

        Assert.True(job.Status == "completed", job.Error);
        var url = job.Result!.Value.GetProperty("editedImageUrl").GetString()!;
        var key = fixture.KeyOf(url);
        Assert.StartsWith(prefix + "rev_", key, StringComparison.Ordinal);
        Assert.EndsWith(".webp", key, StringComparison.Ordinal);
        var (width, height) = ImageSize(await fixture.ObjectAsync(key));
        Assert.Equal(2048, width);
        Assert.InRange(height, 1152 - 12, 1152 + 12);
        var request = Assert.Single(fixture.Gemini.ReceivedRequests(prompt));
        Assert.Equal(("gemini-3-pro-image", null, "2K"), (request.Model, request.AspectRatio, request.ImageSize));
        Assert.Equal(["image", "text"], request.Parts!.Select(p => p.Kind));
        Assert.Contains("cushions", request.Parts![1].Text, StringComparison.Ordinal);
        Assert.Empty(await fixture.App.AssetsAsync(id));
    }

    [Fact]
    public async Task EditWithoutAPrefix_ReturnsADataUrl()
    {
        var id = await _jobs.InsertAsync("image_edit", new
        {
            sourceImageUrl = fixture.References.Url("ref.png"),
            editPrompt = "brighter " + Guid.NewGuid(),
        }, clientId: Client);

        var job = await _jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(60));

        Assert.True(job.Status == "completed", job.Error);
        Assert.StartsWith("data:image/webp;base64,", job.Result!.Value.GetProperty("editedImageDataUrl").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EditOutsideTheClientsFolder_FailsWithoutAGeminiRequest()
    {
        var prompt = "sneaky " + Guid.NewGuid();
        var id = await _jobs.InsertAsync("image_edit", new
        {
            sourceImageUrl = fixture.References.Url("ref.png"),
            editPrompt = prompt,
            tempStoragePrefix = "tmp/edit-sessions/someone_else/s/",
        }, clientId: Client);

        var job = await _jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(60));

        Assert.Equal(("failed", 1), (job.Status, job.Attempts));
        Assert.Contains("tempStoragePrefix", job.Error, StringComparison.Ordinal);
        Assert.Empty(fixture.Gemini.ReceivedRequests(prompt));
    }

    [Fact]
    public async Task EditAnsweredWithoutAnImage_FallsBackToTheFallbackModel_AndSavedEditsBecomeAssets()
    {
        var prompt = "[emulate:refuse@gemini-3-pro-image] remove the lamp " + Guid.NewGuid();
        var id = await _jobs.InsertAsync("image_edit", new
        {
            sourceImageUrl = fixture.References.Url("ref.png"),
            editPrompt = prompt,
            previewOnly = false,
            productId = "prod_2",
            sessionId = "session_9",
        }, clientId: Client);

        var job = await _jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(60));

        Assert.True(job.Status == "completed", job.Error);
        Assert.Equal(["gemini-3-pro-image", "gemini-2.5-flash-image"], fixture.Gemini.ReceivedRequests(prompt).Select(r => r.Model));
        var asset = Assert.Single(await fixture.App.AssetsAsync(id));
        Assert.Equal(Assert.Single(job.ImageIds), asset.Id);
        Assert.Equal($"clients/{Client}/generations/session_9/assets/{asset.Id}.webp", fixture.KeyOf(asset.AssetUrl));
        Assert.Equal([(asset.Id, "prod_2", true)], await fixture.App.LinksAsync([asset.Id]));
        Assert.Equal(("gemini-3-pro-image", "gemini-2.5-flash-image"), (await ModelAsync(id), await FallbackModelAsync(id)));
        var (width, height) = ImageSize(await fixture.ObjectAsync(fixture.KeyOf(asset.AssetUrl)));
        Assert.Equal(2048, Math.Max(width, height));
    }

    private Task<string> ModelAsync(string id) => _jobs.ScalarAsync<string>("SELECT model FROM generation_job WHERE id = @id", ("id", id));

    private Task<string> FallbackModelAsync(string id) =>
        _jobs.ScalarAsync<string>("SELECT fallback_model FROM generation_job WHERE id = @id", ("id", id));

    private static (int Width, int Height) ImageSize(byte[] bytes)
    {
        using var image = NetVips.Image.NewFromBuffer(bytes);
        return (image.Width, image.Height);
    }

    private static string DataUrl(int width, int height)
    {
        using var image = NetVips.Image.Black(width, height, bands: 3) + 90;
        return "data:image/png;base64," + Convert.ToBase64String(image.Cast(NetVips.Enums.BandFormat.Uchar).PngsaveBuffer());
    }
}
