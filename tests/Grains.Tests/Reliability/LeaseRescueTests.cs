using Xunit.Abstractions;

namespace GenerationWorker.Grains.Tests.Reliability;

/// <summary>A silo with a 3 s lease: the rescue of expired leases runs every 1.5 s.</summary>
public sealed class ShortLeaseFixture : ReliabilityFixture
{
    protected override void Configure(Dictionary<string, string?> env) => env["JOB_LEASE_SECONDS"] = "3";
}

[Collection(ReliabilityCollection.Name)]
public sealed class LeaseRescueTests(ShortLeaseFixture fixture, ITestOutputHelper output) : IClassFixture<ShortLeaseFixture>
{
    [Fact]
    public async Task JobLeftProcessingByAVanishedWorker_IsPutBackAndCompleted()
    {
        var tag = "vanished " + Guid.NewGuid().ToString("N");
        var started = DateTimeOffset.UtcNow;
        var id = await fixture.InsertAbandonedAsync(tag, attempts: 1, maxAttempts: 3, lockedBy: "10.9.9.9:11111@1");

        var job = await fixture.Jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(20));

        output.WriteLine($"rescued and completed {(DateTimeOffset.UtcNow - started).TotalSeconds:0.0} s after the row was found expired");
        Assert.Equal("completed", job.Status);
        Assert.Equal(2, job.Attempts);
        Assert.Null(job.Error);
        Assert.Single(job.ImageUrls);
        var audit = await fixture.AuditAsync(id);
        var rescue = Assert.Single(audit, e => e.From == "processing" && e.To == "pending");
        Assert.StartsWith("worker lost: lease expired while held by 10.9.9.9:11111@1", rescue.Error);
        Assert.Equal(1, rescue.Attempt);
        var claim = Assert.Single(audit, e => e.From == "pending" && e.To == "processing");
        Assert.Equal(2, claim.Attempt);
        Assert.Equal(fixture.Silo.Settings.Silo.AdvertisedIp.ToString(), claim.Worker?.Split(':')[0]);
        Assert.Single(audit, e => e.To == "completed");
        Assert.Single(fixture.RequestsFor(tag));
    }

    [Fact]
    public async Task JobWhoseAttemptsAreSpentByRescues_FailsAsWorkerLost()
    {
        var tag = "spent " + Guid.NewGuid().ToString("N");
        var id = await fixture.InsertAbandonedAsync(tag, attempts: 3, maxAttempts: 3, lockedBy: "10.9.9.9:11111@2");

        var job = await fixture.Jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(20));

        Assert.Equal("failed", job.Status);
        Assert.StartsWith("worker lost", job.Error);
        Assert.Equal(3, job.Attempts);
        Assert.NotNull(job.CompletedAt);
        Assert.Empty(fixture.RequestsFor(tag));
    }

    [Fact]
    public async Task Audit_AfterRetriesAndRescues_ShowsWhoClaimedAndCompletedEachJobOnce()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await fixture.InsertAbandonedAsync($"audit-rescued {run} {i}", attempts: 1, maxAttempts: 3, lockedBy: "10.8.8.8:11111@7"));
            ids.Add(await fixture.Jobs.InsertAsync("image_generation", new { prompt = $"audit-retried {run} {i} [emulate:503-once]" }));
            ids.Add(await fixture.Jobs.InsertAsync("image_generation", new { prompt = $"audit-plain {run} {i}", settings = new { numberOfVariants = 2 } }));
        }

        var jobs = await fixture.Jobs.WaitAllFinalAsync(ids, TimeSpan.FromSeconds(30));

        Assert.All(jobs, j => Assert.Equal("completed", j.Status));
        output.WriteLine("job                                  claims  claimed by                      completed by                    attempts");
        foreach (var job in jobs)
        {
            var audit = await fixture.AuditAsync(job.Id);
            var claims = audit.Where(e => e.To == "processing" && e.From is "pending").ToList();
            var completed = Assert.Single(audit, e => e.To == "completed");
            Assert.Equal(claims[^1].Worker, completed.Worker);
            Assert.Equal(job.Attempts, completed.Attempt);
            Assert.Equal(job.Attempts, audit.Count(e => e.To == "processing"));
            output.WriteLine($"{job.Id}  {claims.Count,6}  {string.Join(",", claims.Select(c => c.Worker).Distinct()),-30}  {completed.Worker,-30}  {job.Attempts}");
        }

        var all = await fixture.Jobs.EventsAsync();
        Assert.DoesNotContain(all.Where(e => e.To == "completed").GroupBy(e => e.JobId), g => g.Count() > 1);
    }
}
