using GenerationWorker.TestSupport;

namespace GenerationWorker.Grains.Tests.Jobs;

/// <summary>A silo storing into an S3 server of its own, which the tests stop, restart or break.</summary>
public sealed class StorageOutageFixture : PipelineFixture
{
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
    }
}

public sealed class StorageOutageTests(StorageOutageFixture fixture, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<StorageOutageFixture>
{
    [Fact]
    public async Task AStorageOutageMidJob_KeepsTheImages_AndTheJobCompletesWhenTheStoreReturns_WithOneGeminiRequestPerVariant()
    {
        var prompt = "outage " + Guid.NewGuid().ToString("N");
        await fixture.S3.StopAsync();
        string id;
        try
        {
            id = await fixture.Jobs.InsertAsync("image_generation", new { prompt, settings = new { numberOfVariants = 2 } });
            await Eventually.UntilAsync(() => fixture.Gemini.Emulator.ReceivedRequests(prompt).Count == 2, TimeSpan.FromSeconds(30), "both variants generated");

            // Three upload tries used to give up within about 2 s and send the job back to be generated again. The store
            // stays down for 20 s: the job keeps its images, its claim and its attempt all along.
            await Assert.ThrowsAsync<TimeoutException>(
                () => fixture.Jobs.WaitForAsync(id, job => job.Status != "processing" || job.Attempts != 1, TimeSpan.FromSeconds(20)));
        }
        finally
        {
            await fixture.S3.RestartAsync();
        }

        var restarted = System.Diagnostics.Stopwatch.StartNew();
        var done = await fixture.Jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(60));
        output.WriteLine($"store down about 20 s after both images were generated; the job completed {restarted.Elapsed.TotalSeconds:0.0} s after it returned");

        Assert.Equal("completed", done.Status);
        Assert.Equal(1, done.Attempts);
        Assert.Equal(2, done.ImageUrls.Count);
        Assert.Equal(2, fixture.Gemini.Emulator.ReceivedRequests(prompt).Count);
    }
}

/// <summary>A silo whose bucket disappears while it runs.</summary>
public sealed class MissingBucketFixture : PipelineFixture
{
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
    }
}

public sealed class MissingBucketTests(MissingBucketFixture fixture) : IClassFixture<MissingBucketFixture>
{
    [Fact]
    public async Task ABucketGoneAtRunTime_StopsClaiming_ShowsInHealth_AndSpendsNoAttempt()
    {
        // s3rver keeps a bucket as a folder of its data directory: without it, it answers NoSuchBucket.
        Directory.Delete(Path.Combine(fixture.S3.DataDirectory, fixture.S3.Bucket), recursive: true);
        var prompt = "no bucket " + Guid.NewGuid().ToString("N");

        var id = await fixture.Jobs.InsertAsync("image_generation", new { prompt });

        await Eventually.UntilAsync(() => fixture.Silo.Health.Fatal is not null, TimeSpan.FromSeconds(30), "the silo reports the store's refusal");
        Assert.Contains("BucketNotFound", fixture.Silo.Health.Fatal, StringComparison.Ordinal);
        var job = await fixture.Jobs.WaitForAsync(id, j => j.Status == "pending", TimeSpan.FromSeconds(30));
        Assert.Equal(0, job.Attempts);
        Assert.Single(fixture.Gemini.Emulator.ReceivedRequests(prompt));
    }
}
