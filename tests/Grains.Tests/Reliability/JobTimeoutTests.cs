using Xunit.Abstractions;
using GenerationWorker.TestSupport;

namespace GenerationWorker.Grains.Tests.Reliability;

/// <summary>A silo whose claims may run 2 s at most.</summary>
public sealed class ShortTimeoutFixture : ReliabilityFixture
{
    protected override void Configure(Dictionary<string, string?> env) => env["JOB_TIMEOUT_SECONDS"] = "2";
}

[Collection(ReliabilityCollection.Name)]
public sealed class JobTimeoutTests(ShortTimeoutFixture fixture, ITestOutputHelper output) : IClassFixture<ShortTimeoutFixture>
{
    [Fact]
    public async Task HangingGemini_TimesOutEachAttempt_RetriesThenFails()
    {
        var tag = "hang " + Guid.NewGuid().ToString("N");
        var started = DateTimeOffset.UtcNow;
        var id = await fixture.Jobs.InsertAsync("image_generation", new { prompt = tag + " [emulate:hang]" }, maxAttempts: 2);

        var job = await fixture.Jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(30));

        output.WriteLine($"failed after {(DateTimeOffset.UtcNow - started).TotalSeconds:0.0} s: {job.Error}");
        Assert.Equal("failed", job.Status);
        Assert.Equal(2, job.Attempts);
        Assert.StartsWith("timed out after 2 s", job.Error);
        var audit = await fixture.AuditAsync(id);
        var retry = Assert.Single(audit, e => e.From == "processing" && e.To == "pending");
        Assert.StartsWith("timed out", retry.Error);
        Assert.Equal(2, audit.Count(e => e.To == "processing"));
        await Eventually.UntilAsync(() => fixture.RequestsFor(tag).Count == 2, TimeSpan.FromSeconds(10), "both hanging requests are abandoned");
        Assert.All(fixture.RequestsFor(tag), r => Assert.Equal(GeminiEmulator.RequestOutcome.Abandoned, r.Outcome));
    }
}
