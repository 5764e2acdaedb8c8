using GenerationWorker.GeminiEmulator;
using GenerationWorker.Grains.Assets;
using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Storage;
using GenerationWorker.Grains.Tests.Gemini;
using GenerationWorker.TestSupport;

namespace GenerationWorker.Grains.Tests.Jobs;

/// <summary>
/// A silo whose Gemini answers are real-size 2K images after interim thought images (gemini-3-pro-image), so every
/// image is decoded to a temporary file in <see cref="SpoolDirectory"/>.
/// </summary>
public sealed class SpoolPipelineFixture() : PipelineFixture(new LargeImageEmulator())
{
    public string SpoolDirectory { get; } = Directory.CreateTempSubdirectory("worker-spool-").FullName;

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(SpoolDirectory, recursive: true);
    }

    protected override void Configure(Dictionary<string, string?> env)
    {
        env["IMAGE_SPOOL_DIR"] = SpoolDirectory;
        env["GEMINI_MODEL"] = "gemini-3-pro-image";
    }

    private sealed class LargeImageEmulator : GeminiEmulatorFixture
    {
        protected override EmulatorOptions CreateOptions() => new() { RealImageSizes = true, ThoughtImages = true };
    }
}

public sealed class SpoolPipelineTests(SpoolPipelineFixture fixture) : IClassFixture<SpoolPipelineFixture>
{
    [Fact]
    public async Task LargeImagesAfterThoughtImages_AreStoredWhole_AndNoTemporaryFileOutlivesTheJob()
    {
        var id = await fixture.Jobs.InsertAsync("image_generation", new
        {
            prompt = "a harbour at night " + Guid.NewGuid(),
            settings = new { aspectRatio = "1:1", imageQuality = "2k", numberOfVariants = 2 },
        }, clientId: "spool");

        var job = await fixture.Jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(60));

        Assert.Equal("completed", job.Status);
        Assert.Equal(2, job.ImageUrls.Count);
        for (var variant = 0; variant < 2; variant++)
        {
            var key = ObjectKeys.ForOriginal(ObjectKeys.AssetFolder("spool", null, null), AssetIds.ForVariant(id, variant));
            var stored = await File.ReadAllBytesAsync(Path.Combine(fixture.StorageDirectory, key));
            Assert.True(stored.Length > ImageSpool.MemoryLimitBytes, $"a {stored.Length} byte image would not have gone through a file");
            Assert.Equal((2048, 2048), Png.Size(stored));
        }

        Assert.Empty(Directory.GetFiles(fixture.SpoolDirectory));
    }

    [Fact]
    public async Task AnUploadThatKeepsFailing_FailsTheJob_AndDeletesTheTemporaryFile()
    {
        // A file where the client's folder must be: every write under it fails.
        Directory.CreateDirectory(Path.Combine(fixture.StorageDirectory, ObjectKeys.Prefix));
        await File.WriteAllTextAsync(Path.Combine(fixture.StorageDirectory, ObjectKeys.Prefix, "blocked"), "not a folder");
        var id = await fixture.Jobs.InsertAsync("image_generation", new
        {
            prompt = "a lighthouse " + Guid.NewGuid(),
            settings = new { imageQuality = "2k" },
        }, clientId: "blocked", maxAttempts: 1);

        var job = await fixture.Jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(60));

        Assert.Equal("failed", job.Status);
        Assert.Contains("upload failed", job.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(fixture.SpoolDirectory));
    }
}
