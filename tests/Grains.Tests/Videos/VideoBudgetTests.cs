using GenerationWorker.TestSupport;

namespace GenerationWorker.Grains.Tests.Videos;

/// <summary>
/// A budget of 8 Gemini requests a minute (the least the service accepts): a video polled a dozen times within the
/// minute finishes only if its polls take nothing from it.
/// </summary>
public sealed class SmallBudgetFixture : VideoPipelineFixture
{
    protected override void Configure(Dictionary<string, string?> env) => env["MAX_JOBS_PER_MINUTE"] = "8";
}

public sealed class VideoBudgetTests(SmallBudgetFixture fixture) : IClassFixture<SmallBudgetFixture>
{
    [Fact]
    public async Task PollingClaims_TakeNoBudgetAndNoAttempt()
    {
        var tag = "b" + Guid.NewGuid().ToString("N")[..10];
        var id = await fixture.Jobs.InsertAsync(
            "video_generation",
            new { sourceImageUrl = fixture.References.Url("ref.png"), prompt = $"budget {tag} [emulate:video-time=12s]" },
            clientId: VideoPipelineFixture.ClientId);

        // Within the budget's minute: 8 requests would not cover a dozen claims if polls took from it.
        var job = await fixture.Jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(40));

        Assert.Equal("completed", job.Status);
        Assert.Equal(1, job.Attempts);
        var operation = fixture.Operation(tag);
        Assert.True(operation.Polls >= 10, $"{operation.Polls} polls");
        Assert.Equal(1, fixture.Gemini.Stats.Video.StartRequests);
    }
}
