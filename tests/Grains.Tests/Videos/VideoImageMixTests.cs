using System.Diagnostics;
using Xunit.Abstractions;
using GenerationWorker.TestSupport;

namespace GenerationWorker.Grains.Tests.Videos;

/// <summary>Five slots (<c>WORKER_CONCURRENCY=5</c>) and videos polled every second.</summary>
public sealed class FiveSlotsFixture : VideoPipelineFixture
{
    protected override void Configure(Dictionary<string, string?> env) => env["WORKER_CONCURRENCY"] = "5";
}

public sealed class VideoImageMixTests(FiveSlotsFixture fixture, ITestOutputHelper output) : IClassFixture<FiveSlotsFixture>
{
    private const int Images = 50;
    private const int Videos = 20;

    [Fact]
    public async Task TwentyPollingVideos_LeaveTheSlotsToImageJobs()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        await RunImagesAsync($"warm-up {run}");
        var alone = await RunImagesAsync($"alone {run}");

        var videos = new List<string>();
        for (var i = 0; i < Videos; i++)
        {
            videos.Add(await fixture.Jobs.InsertAsync(
                "video_generation",
                new { prompt = $"polling {run} {i} [emulate:video-time=600s]", settings = new { aspectRatio = "16:9" } },
                clientId: VideoPipelineFixture.ClientId));
        }

        await Eventually.UntilAsync(
            async () => (await Task.WhenAll(videos.Select(fixture.Jobs.GetAsync))).All(j => j.Progress >= 15),
            TimeSpan.FromSeconds(60), "all 20 videos polling");
        var pollsBefore = fixture.Gemini.Stats.Video.Polls;
        var withVideos = await RunImagesAsync($"with videos {run}");
        var polls = fixture.Gemini.Stats.Video.Polls - pollsBefore;

        output.WriteLine(
            $"{Images} image jobs (200 ms each at Gemini), WORKER_CONCURRENCY=5: alone {alone.TotalSeconds:0.00} s ({Images / alone.TotalSeconds:0.0} jobs/s); " +
            $"with {Videos} videos polled every 1 s: {withVideos.TotalSeconds:0.00} s ({Images / withVideos.TotalSeconds:0.0} jobs/s), {polls} polls meanwhile");
        foreach (var video in await Task.WhenAll(videos.Select(fixture.Jobs.GetAsync)))
        {
            Assert.False(video.IsFinal, video.ToString());
            Assert.Equal(1, video.Attempts);
            Assert.Null(video.Error);
        }

        Assert.True(polls >= Videos, $"{polls} polls while the images ran");
        foreach (var video in videos)
        {
            await fixture.Jobs.CancelAsync(video);
        }
    }

    private async Task<TimeSpan> RunImagesAsync(string tag)
    {
        var clock = Stopwatch.StartNew();
        var ids = new List<string>();
        for (var i = 0; i < Images; i++)
        {
            ids.Add(await fixture.Jobs.InsertAsync(
                "image_generation", new { prompt = $"{tag} {i} [emulate:delay=200ms]" }, clientId: VideoPipelineFixture.ClientId));
        }

        var jobs = await fixture.Jobs.WaitAllFinalAsync(ids, TimeSpan.FromSeconds(120));
        Assert.All(jobs, job => Assert.Equal("completed", job.Status));
        return clock.Elapsed;
    }
}
