using System.Diagnostics;
using GenerationWorker.Grains.Tests.Reliability;
using GenerationWorker.Interfaces;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Xunit.Abstractions;
using SiloStatus = GenerationWorker.Grains.Tests.Reliability.SiloStatus;

namespace GenerationWorker.Grains.Tests.Dispatch;

/// <summary>Two silos of one cluster whose Gemini key is wrong.</summary>
public sealed class WrongKeyClusterFixture : ReliabilityFixture
{
    public const string WrongKey = "not-the-emulator-key";

    public WorkerSilo Second { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Second = await StartSiloAsync();
    }

    protected override void Configure(Dictionary<string, string?> env) => env["GEMINI_API_KEY"] = WrongKey;
}

/// <summary>Two silos of one cluster storing into one S3 server, whose bucket the test deletes.</summary>
public sealed class MissingBucketClusterFixture : ReliabilityFixture
{
    public S3ServerFixture S3 { get; } = new();

    public WorkerSilo Second { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await S3.InitializeAsync();
        await base.InitializeAsync();
        Second = await StartSiloAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await S3.DisposeAsync();
    }

    protected override void Configure(Dictionary<string, string?> env) => S3.ConfigureSilo(env);
}

[Collection(ReliabilityCollection.Name)]
public sealed class ClusterStopTests(WrongKeyClusterFixture fixture, ITestOutputHelper output) : IClassFixture<WrongKeyClusterFixture>
{
    [Fact]
    public async Task AnInvalidKeyFoundOnOneSilo_StopsClaimingOnEverySiloWithThatKey_IncludingOneThatJoinsLater()
    {
        var silos = new[] { fixture.Silo, fixture.Second };
        await fixture.Jobs.InsertAsync("image_generation", new { prompt = "refused " + Guid.NewGuid().ToString("N") });

        await Eventually.UntilAsync(() => silos.Any(s => s.Health.Fatal is not null), TimeSpan.FromSeconds(30), "a silo reports the refused key");
        var reported = Stopwatch.StartNew();
        await Eventually.UntilAsync(() => silos.All(s => s.Health.Fatal is not null), TimeSpan.FromSeconds(10), "every silo reports the refused key");
        output.WriteLine($"the other silo stopped {reported.ElapsedMilliseconds} ms after the test saw the first stop (polled every 50 ms)");

        Assert.True(reported.Elapsed < TimeSpan.FromSeconds(3), $"the other silo stopped after {reported.ElapsedMilliseconds} ms");
        foreach (var silo in silos)
        {
            var (code, body) = await SiloStatus.HealthAsync(silo.HttpBase);
            Assert.Equal(503, code);
            Assert.Contains("API key not valid", body, StringComparison.Ordinal);
            Assert.False((await DispatcherOf(silo).GetStatusAsync()).Claiming);
        }

        // Nobody claims the next job: neither silo pays for the same refusal again.
        var requests = fixture.Gemini.Stats.TotalRequests;
        var second = await fixture.Jobs.InsertAsync("image_generation", new { prompt = "not claimed " + Guid.NewGuid().ToString("N") });
        await Assert.ThrowsAsync<TimeoutException>(
            () => fixture.Jobs.WaitForAsync(second, job => job.Status != "pending", TimeSpan.FromSeconds(3)));
        Assert.Equal(requests, fixture.Gemini.Stats.TotalRequests);

        // A silo with the same key joining now stops before it claims anything.
        var late = await fixture.StartSiloAsync();
        Assert.Contains("API key not valid", late.Health.Fatal, StringComparison.Ordinal);
        Assert.Equal(503, (await SiloStatus.HealthAsync(late.HttpBase)).Code);
        Assert.False((await DispatcherOf(late).GetStatusAsync()).Claiming);
        Assert.Equal(requests, fixture.Gemini.Stats.TotalRequests);
        Assert.Null((await fixture.Jobs.GetAsync(second)).Error);

        // A silo deployed with the fixed key is not stopped by the old key's refusal: it runs the waiting job.
        var fixedKey = await fixture.StartSiloAsync(env => env["GEMINI_API_KEY"] = fixture.Gemini.ApiKey);
        Assert.Null(fixedKey.Health.Fatal);
        Assert.Equal("completed", (await fixture.Jobs.WaitFinalAsync(second, TimeSpan.FromSeconds(30))).Status);
        Assert.Equal(200, (await SiloStatus.HealthAsync(fixedKey.HttpBase)).Code);
    }

    private static IDispatcherGrain DispatcherOf(WorkerSilo silo) =>
        silo.Grains.GetGrain<IDispatcherGrain>(SiloIdentity.Of(silo.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress));
}

[Collection(ReliabilityCollection.Name)]
public sealed class MissingBucketClusterTests(MissingBucketClusterFixture fixture, ITestOutputHelper output) : IClassFixture<MissingBucketClusterFixture>
{
    [Fact]
    public async Task ABucketGoneAtRunTime_StopsClaimingOnEverySilo_AndBothHealthsShowIt()
    {
        var silos = new[] { fixture.Silo, fixture.Second };
        // s3rver keeps a bucket as a folder of its data directory: without it, it answers NoSuchBucket.
        Directory.Delete(Path.Combine(fixture.S3.DataDirectory, fixture.S3.Bucket), recursive: true);

        await fixture.Jobs.InsertAsync("image_generation", new { prompt = "no bucket " + Guid.NewGuid().ToString("N") });

        await Eventually.UntilAsync(() => silos.Any(s => s.Health.Fatal is not null), TimeSpan.FromSeconds(30), "a silo reports the store's refusal");
        var reported = Stopwatch.StartNew();
        await Eventually.UntilAsync(() => silos.All(s => s.Health.Fatal is not null), TimeSpan.FromSeconds(10), "every silo reports the store's refusal");
        output.WriteLine($"the other silo stopped {reported.ElapsedMilliseconds} ms after the test saw the first stop (polled every 50 ms)");

        Assert.True(reported.Elapsed < TimeSpan.FromSeconds(3), $"the other silo stopped after {reported.ElapsedMilliseconds} ms");
        foreach (var silo in silos)
        {
            var (code, body) = await SiloStatus.HealthAsync(silo.HttpBase);
            Assert.Equal(503, code);
            Assert.Contains("BucketNotFound", body, StringComparison.Ordinal);
        }

        var next = await fixture.Jobs.InsertAsync("image_generation", new { prompt = "not claimed " + Guid.NewGuid().ToString("N") });
        await Assert.ThrowsAsync<TimeoutException>(
            () => fixture.Jobs.WaitForAsync(next, job => job.Status != "pending", TimeSpan.FromSeconds(3)));
    }
}
