using GenerationWorker.TestSupport;
using Xunit.Abstractions;

namespace GenerationWorker.Grains.Tests.Jobs;

/// <summary>A silo that ignores notifications and finds jobs by polling, as behind a transaction pooler.</summary>
public sealed class PollingFixture : PipelineFixture
{
    protected override void Configure(Dictionary<string, string?> env)
    {
        env["LISTEN_ENABLED"] = "false";
        env["POLL_INTERVAL_MS"] = "500";
    }
}

public sealed class PollingPipelineTests(PollingFixture fixture, ITestOutputHelper output) : IClassFixture<PollingFixture>
{
    [Fact]
    public async Task WithoutNotifications_JobsAreStillPickedUpByPolling()
    {
        var latencies = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            var prompt = $"polled {i} {Guid.NewGuid()}";
            var id = await fixture.Jobs.InsertAsync("image_generation", new { prompt });
            var job = await fixture.Jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(10));
            Assert.Equal("completed", job.Status);
            var arrived = fixture.Gemini.Stats.Snapshot().RecentRequests.First(r => r.PromptStart == prompt).ArrivedAt;
            latencies.Add((arrived - job.ScheduledFor).TotalMilliseconds);
        }

        latencies.Sort();
        output.WriteLine($"polling pickup (500 ms interval), 5 jobs: p50 {latencies[2]:0} ms, max {latencies[^1]:0} ms");
    }
}
