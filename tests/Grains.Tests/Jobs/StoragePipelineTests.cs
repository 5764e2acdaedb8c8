using GenerationWorker.GeminiEmulator;
using GenerationWorker.Grains.Jobs;
using GenerationWorker.Grains.Storage;
using GenerationWorker.Grains.Tests.Gemini;
using GenerationWorker.TestSupport;

namespace GenerationWorker.Grains.Tests.Jobs;

/// <summary>A silo storing into the real S3 server over HTTPS, with 3 Gemini requests in flight at most.</summary>
public sealed class S3PipelineFixture : PipelineFixture
{
    public const int Concurrency = 3;

    public S3ServerFixture S3 { get; } = new();

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

    protected override void Configure(Dictionary<string, string?> env)
    {
        S3.ConfigureSilo(env);
        env["WORKER_CONCURRENCY"] = Concurrency.ToString();
    }
}

public sealed class StoragePipelineTests(S3PipelineFixture fixture) : IClassFixture<S3PipelineFixture>
{
    private static readonly string[] Ratios = ["1:1", "16:9", "9:16", "4:3", "3:4", "21:9", "2:3", "5:4"];

    [Fact]
    public async Task TwentyJobsOfBothTypes_CompleteIntoS3_WithValidPngsOfTheAskedRatio_AndConcurrencyNeverExceeded()
    {
        fixture.Gemini.Faults.Configure(new FaultSettings { LatencyMinMs = 20, LatencyMaxMs = 60 });
        var asked = new Dictionary<string, (string Ratio, int Variants)>();
        for (var i = 0; i < 20; i++)
        {
            var ratio = Ratios[i % Ratios.Length];
            var variants = (i % 4) + 1;
            string id;
            if (i % 2 == 0)
            {
                id = await fixture.Jobs.InsertAsync("image_generation", new
                {
                    prompt = $"product shot {i}",
                    settings = new { aspectRatio = ratio, imageQuality = "1k", numberOfVariants = variants },
                    productImageUrls = new[] { fixture.References.Url("ref.png") },
                    inspirationImageUrl = fixture.References.Url("ref.jpg"),
                }, clientId: "tenant-" + (i % 3));
            }
            else
            {
                // An edit makes one image in its source's shape (1:1 here), whatever the payload's ratio and variants.
                id = await fixture.Jobs.InsertAsync("image_edit", new
                {
                    sourceImageUrl = fixture.References.Url("ref.png"),
                    editPrompt = $"edit {i}",
                    aspectRatio = ratio,
                    previewOnly = false,
                    settings = new { imageQuality = "2k", numberOfVariants = variants },
                }, clientId: "tenant-" + (i % 3));
                (ratio, variants) = ("1:1", 1);
            }

            asked[id] = (ratio, variants);
        }

        var jobs = await fixture.Jobs.WaitAllFinalAsync(asked.Keys, TimeSpan.FromSeconds(60));

        using var http = new HttpClient();
        foreach (var job in jobs)
        {
            var (ratio, variants) = asked[job.Id];
            Assert.Equal("completed", job.Status);
            Assert.Equal(100, job.Progress);
            Assert.Equal(variants, job.ImageUrls.Count);
            Assert.Equal([.. Enumerable.Range(0, variants).Select(n => GenerationWorker.Grains.Assets.AssetIds.ForVariant(job.Id, n))], job.ImageIds);
            Assert.All(job.ImageUrls, url => Assert.Contains(ObjectKeys.EscapeSegment(job.ImageIds[job.ImageUrls.ToList().IndexOf(url)]), url));
            var parts = ratio.Split(':').Select(int.Parse).ToArray();
            foreach (var url in job.ImageUrls)
            {
                Assert.Contains($"/generations/adhoc/assets/", url);
                Assert.EndsWith(".webp", url);
                var (width, height) = Imaging.TestImages.SizeOf(new MemoryStream(await http.GetByteArrayAsync(url)));
                Assert.Equal(parts[0] * height, parts[1] * width);
            }
        }

        var maxInFlight = fixture.Gemini.Stats.MaxInFlight;
        Assert.InRange(maxInFlight, 1, S3PipelineFixture.Concurrency);
    }
}
