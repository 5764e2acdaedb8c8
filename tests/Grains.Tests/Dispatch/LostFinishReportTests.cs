using System.Collections.Concurrent;
using System.Diagnostics;
using GenerationWorker.Grains.Tests.Reliability;
using GenerationWorker.Interfaces;
using GenerationWorker.TestSupport;
using Xunit.Abstractions;
using SiloStatus = GenerationWorker.Grains.Tests.Reliability.SiloStatus;

namespace GenerationWorker.Grains.Tests.Dispatch;

/// <summary>
/// One job at a time, a 3 s lease (the rescue cadence is 1.5 s), and a silo that loses the one-way "job finished"
/// reports of the jobs a test names: the message the dispatcher waits for never arrives.
/// </summary>
public sealed class LostFinishReportFixture : CallFilterFixture<LostFinishReports>
{
    protected override void Configure(Dictionary<string, string?> env)
    {
        env["WORKER_CONCURRENCY"] = "1";
        env["JOB_LEASE_SECONDS"] = "3";
    }
}

/// <summary>Drops the dispatcher's <c>JobFinishedAsync</c> calls for the named jobs, as a lost message would.</summary>
public sealed class LostFinishReports : IIncomingGrainCallFilter
{
    private readonly ConcurrentDictionary<string, bool> _lose = new(StringComparer.Ordinal);

    /// <summary>Loses the finished report of <paramref name="jobId"/>.</summary>
    public void Lose(string jobId) => _lose[jobId] = false;

    /// <summary>True once the report of <paramref name="jobId"/> was dropped.</summary>
    public bool WasLost(string jobId) => _lose.TryGetValue(jobId, out var lost) && lost;

    /// <inheritdoc />
    public Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.InterfaceMethod?.Name == nameof(IDispatcherGrain.JobFinishedAsync)
            && context.Request.GetArgument(0) is string jobId
            && _lose.ContainsKey(jobId))
        {
            _lose[jobId] = true;
            return Task.CompletedTask;
        }

        return context.Invoke();
    }
}

[Collection(ReliabilityCollection.Name)]
public sealed class LostFinishReportTests(LostFinishReportFixture fixture, ITestOutputHelper output) : IClassFixture<LostFinishReportFixture>
{
    [Fact]
    public async Task ACompletedJobWhoseFinishedReportIsLost_FreesItsSlot_AndTheNextJobRuns()
    {
        var lost = "job_" + Guid.NewGuid().ToString("N");
        fixture.Filter.Lose(lost);
        await fixture.Jobs.InsertAsync("image_generation", new { prompt = "report lost " + lost }, id: lost);
        var done = await fixture.Jobs.WaitFinalAsync(lost, TimeSpan.FromSeconds(30));
        await Eventually.UntilAsync(() => fixture.Filter.WasLost(lost), TimeSpan.FromSeconds(10), "the finished report is dropped");
        Assert.Equal("completed", done.Status);

        var freed = Stopwatch.StartNew();
        var next = await fixture.Jobs.InsertAsync("image_generation", new { prompt = "after a lost report " + Guid.NewGuid().ToString("N") });

        var job = await fixture.Jobs.WaitFinalAsync(next, TimeSpan.FromSeconds(20));
        output.WriteLine($"the next job completed {freed.Elapsed.TotalSeconds:0.0} s after it was inserted (lease 3 s)");
        Assert.Equal("completed", job.Status);
        Assert.DoesNotContain(lost, await SiloStatus.InFlightAsync(fixture.Silo.HttpBase));
    }

    [Fact]
    public async Task AJobTakenOverWhoseFinishedReportIsLost_FreesItsSlot_AndTheNextJobRuns()
    {
        var taken = "job_" + Guid.NewGuid().ToString("N");
        var tag = "taken over " + taken;
        fixture.Filter.Lose(taken);
        await fixture.Jobs.InsertAsync("image_generation", new { prompt = tag + " [emulate:delay=2s]", settings = new { numberOfVariants = 2 } }, id: taken);
        await Eventually.UntilAsync(() => fixture.RequestsFor(tag).Count > 0 || fixture.Gemini.Stats.InFlight > 0, TimeSpan.FromSeconds(10), "the first Gemini request");

        // Another worker takes the job over behind this silo's back; its claim here stops, and the report is lost.
        await fixture.Jobs.ExecuteAsync(
            "UPDATE generation_job SET lease_token = gen_random_uuid(), locked_by = 'other', lease_expires_at = now() + interval '1 hour' WHERE id = @id",
            ("id", taken));
        await Eventually.UntilAsync(() => fixture.Filter.WasLost(taken), TimeSpan.FromSeconds(10), "the finished report is dropped");
        var next = await fixture.Jobs.InsertAsync("image_generation", new { prompt = "after a take-over " + Guid.NewGuid().ToString("N") });

        Assert.Equal("completed", (await fixture.Jobs.WaitFinalAsync(next, TimeSpan.FromSeconds(20))).Status);
        Assert.Equal("other", (await fixture.Jobs.GetAsync(taken)).LockedBy);
        await fixture.Jobs.CancelAsync(taken);
    }

    [Fact]
    public async Task ARunningJobLongerThanTheLease_KeepsItsSlot_UntilItFinishes()
    {
        // Two 2 s variants one at a time: about 4 s, over two leases and several lost-job checks.
        var running = await fixture.Jobs.InsertAsync(
            "image_generation", new { prompt = "long runner " + Guid.NewGuid().ToString("N") + " [emulate:delay=2s]", settings = new { numberOfVariants = 2 } });
        await fixture.Jobs.WaitForAsync(running, job => job.Status == "processing", TimeSpan.FromSeconds(10));
        var waiting = await fixture.Jobs.InsertAsync("image_generation", new { prompt = "waits for the slot " + Guid.NewGuid().ToString("N") });

        var longJob = await fixture.Jobs.WaitFinalAsync(running, TimeSpan.FromSeconds(30));
        var next = await fixture.Jobs.WaitFinalAsync(waiting, TimeSpan.FromSeconds(30));

        Assert.Equal("completed", longJob.Status);
        Assert.Equal(1, longJob.Attempts);
        Assert.Equal("completed", next.Status);
        // The one slot was never given to the waiting job while the long one ran.
        Assert.True(next.StartedAt >= longJob.CompletedAt, $"the waiting job started at {next.StartedAt:O}, the long one completed at {longJob.CompletedAt:O}");
    }
}
