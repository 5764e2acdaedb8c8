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
        Assert.Single(fixture.Operations(tag));
    }

    [Fact]
    public async Task BudgetPausedByA429_PollingGoesOn_AndTheVideoCompletes()
    {
        var tag = "p" + Guid.NewGuid().ToString("N")[..10];
        var video = await fixture.Jobs.InsertAsync(
            "video_generation",
            new { prompt = $"paused budget {tag} [emulate:video-time=8s]" },
            clientId: VideoPipelineFixture.ClientId);
        await fixture.Jobs.WaitForAsync(video, j => j.Progress >= 15, TimeSpan.FromSeconds(30));

        // An image job's 429 pauses the cluster's budget for two minutes.
        var image = await fixture.Jobs.InsertAsync(
            "image_generation", new { prompt = $"throttled {tag} [emulate:429-retry=120s]" }, clientId: VideoPipelineFixture.ClientId);
        // Waiting for the budget is not a failure: back to pending with its attempt refunded and no error.
        await fixture.Jobs.WaitForAsync(image, j => j.Status == "pending" && j.StartedAt is not null, TimeSpan.FromSeconds(20));
        var pollsAtPause = fixture.Operation(tag).Polls;
        var job = await fixture.Jobs.WaitFinalAsync(video, TimeSpan.FromSeconds(40));

        Assert.Equal("completed", job.Status);
        Assert.True(fixture.Operation(tag).Polls > pollsAtPause, "polled while the budget was paused");
        var throttled = await fixture.Jobs.GetAsync(image);
        Assert.Equal("pending", throttled.Status);
        Assert.Null(throttled.Error);
        Assert.Equal(0, throttled.Attempts);
        await fixture.Jobs.CancelAsync(image);
    }
}
