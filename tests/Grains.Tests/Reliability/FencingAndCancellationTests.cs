using GenerationWorker.TestSupport;
using Xunit.Abstractions;

namespace GenerationWorker.Grains.Tests.Reliability;

/// <summary>One Gemini request at a time per silo (variants queue at the request gate) and a 3 s lease.</summary>
public class OneAtATimeFixture : ReliabilityFixture
{
    protected override void Configure(Dictionary<string, string?> env)
    {
        env["WORKER_CONCURRENCY"] = "1";
        env["JOB_LEASE_SECONDS"] = "3";
    }
}

/// <summary>As <see cref="OneAtATimeFixture"/>, without notifications: the dispatcher's poll must notice cancellations.</summary>
public sealed class OneAtATimePollingFixture : OneAtATimeFixture
{
    protected override void Configure(Dictionary<string, string?> env)
    {
        base.Configure(env);
        env["LISTEN_ENABLED"] = "false";
    }
}

[Collection(ReliabilityCollection.Name)]
public sealed class FencingAndCancellationTests(OneAtATimeFixture fixture, ITestOutputHelper output) : IClassFixture<OneAtATimeFixture>
{
    [Fact]
    public async Task ReclaimedByAnotherWorker_OriginalWritesDoNotLand_AndItStops()
    {
        var tag = "fenced " + Guid.NewGuid().ToString("N");
        var id = await fixture.Jobs.InsertAsync("image_generation", new { prompt = tag + " [emulate:delay=2s]", settings = new { numberOfVariants = 2 } });
        await Eventually.UntilAsync(() => fixture.RequestsFor(tag).Count > 0 || fixture.Gemini.Stats.InFlight > 0, TimeSpan.FromSeconds(10), "the first Gemini request");
        var original = await fixture.Jobs.ScalarAsync<Guid>("SELECT lease_token FROM generation_job WHERE id = @id", ("id", id));

        // Another worker takes the job over (its lease far ahead, so that no rescue runs it here again).
        var stolenAt = DateTimeOffset.UtcNow;
        var token = await fixture.Jobs.ScalarAsync<Guid>(
            """
            UPDATE generation_job SET lease_token = gen_random_uuid(), locked_by = 'other', lease_expires_at = now() + interval '1 hour'
            WHERE id = @id RETURNING lease_token
            """, ("id", id));
        await Eventually.UntilAsync(async () => !(await SiloStatus.InFlightAsync(fixture.Silo.HttpBase)).Contains(id), TimeSpan.FromSeconds(10), "the job grain stops");
        var stoppedAfter = DateTimeOffset.UtcNow - stolenAt;
        await CompleteProbeAsync();

        output.WriteLine($"the original claim stopped {stoppedAfter.TotalMilliseconds:0} ms after losing its lease");
        Assert.NotEqual(original, token);
        var job = await fixture.Jobs.GetAsync(id);
        Assert.Equal("processing", job.Status);
        Assert.Equal("other", job.LockedBy);
        // The start's progress (1 of 2 variants: 45) was written while the claim held the lease; nothing after it.
        Assert.Equal(45, job.Progress);
        Assert.Null(job.Result);
        Assert.Equal(token, await fixture.Jobs.ScalarAsync<Guid>("SELECT lease_token FROM generation_job WHERE id = @id", ("id", id)));
        Assert.Equal(0L, await fixture.Jobs.ScalarAsync<long>("SELECT count(*) FROM generation_job_output WHERE job_id = @id", ("id", id)));
        Assert.Single(fixture.RequestsFor(tag));
        Assert.True(stoppedAfter < TimeSpan.FromSeconds(3), "it stops within a lease renewal period");
        await fixture.Jobs.CancelAsync(id);
    }

    [Fact]
    public Task Cancelled_StopsWithinTwoSeconds_WithNotifications() => CancellationChecks.RunAsync(fixture, output);

    private async Task CompleteProbeAsync()
    {
        var probe = await fixture.Jobs.InsertAsync("image_generation", new { prompt = "probe " + Guid.NewGuid() });
        Assert.Equal("completed", (await fixture.Jobs.WaitFinalAsync(probe)).Status);
    }
}

[Collection(ReliabilityCollection.Name)]
public sealed class PolledCancellationTests(OneAtATimePollingFixture fixture, ITestOutputHelper output) : IClassFixture<OneAtATimePollingFixture>
{
    [Fact]
    public Task Cancelled_StopsWithinTwoSeconds_WithoutNotifications() => CancellationChecks.RunAsync(fixture, output);
}

internal static class CancellationChecks
{
    /// <summary>
    /// A 4-variant job whose variants go one at a time (1 s each) is cancelled once its first request arrives: its grain
    /// stops within 2 s, no request for it arrives later, and the row stays cancelled.
    /// </summary>
    public static async Task RunAsync(ReliabilityFixture fixture, ITestOutputHelper output)
    {
        var tag = "cancel " + Guid.NewGuid().ToString("N");
        var id = await fixture.Jobs.InsertAsync("image_generation", new { prompt = tag + " [emulate:delay=1s]", settings = new { numberOfVariants = 4 } });
        await Eventually.UntilAsync(() => fixture.RequestsFor(tag).Count > 0 || fixture.Gemini.Stats.InFlight > 0, TimeSpan.FromSeconds(10), "the first Gemini request");

        var cancelledAt = DateTimeOffset.UtcNow;
        await fixture.Jobs.CancelAsync(id);
        await Eventually.UntilAsync(async () => !(await SiloStatus.InFlightAsync(fixture.Silo.HttpBase)).Contains(id), TimeSpan.FromSeconds(10), "the job grain stops");
        var stoppedAfter = DateTimeOffset.UtcNow - cancelledAt;
        // A later job goes through the same one-request gate: once it completed, nothing of the cancelled job waits there.
        var probe = await fixture.Jobs.InsertAsync("image_generation", new { prompt = "probe " + Guid.NewGuid() });
        Assert.Equal("completed", (await fixture.Jobs.WaitFinalAsync(probe)).Status);

        var requests = fixture.RequestsFor(tag);
        output.WriteLine($"stopped {stoppedAfter.TotalMilliseconds:0} ms after the cancel; Gemini requests for the job: {requests.Count} ({string.Join(", ", requests.Select(r => r.Outcome))})");
        Assert.True(stoppedAfter <= TimeSpan.FromSeconds(2), $"stopped after {stoppedAfter.TotalMilliseconds:0} ms");
        Assert.DoesNotContain(requests, r => r.ArrivedAt > cancelledAt + TimeSpan.FromSeconds(2));
        Assert.True(requests.Count < 4, "the remaining variants were never asked for");
        var job = await fixture.Jobs.GetAsync(id);
        Assert.Equal("cancelled", job.Status);
        Assert.Empty(job.ImageUrls);
        Assert.DoesNotContain((await fixture.Jobs.EventsAsync(id)).SkipWhile(e => e.To != "cancelled"), e => e.To != "cancelled");
    }
}
