using GenerationWorker.TestSupport;
using GenerationWorker.GeminiEmulator;
using Xunit.Abstractions;

namespace GenerationWorker.Grains.Tests.Reliability;

/// <summary>Silos run as processes of the real executable; the fixture only provides the database and the emulator.</summary>
public sealed class ProcessFixture : ReliabilityFixture
{
    protected override bool StartsSilo => false;
}

[Collection(ReliabilityCollection.Name)]
public sealed class SiloProcessTests(ProcessFixture fixture, ITestOutputHelper output) : IClassFixture<ProcessFixture>
{
    [Fact]
    public async Task KilledSilo_ItsJobsRunAgainElsewhere_LongBeforeTheLeaseExpires_AndCompleteOnce()
    {
        var env = fixture.Environment();
        env["JOB_LEASE_SECONDS"] = "60";
        env["WORKER_CONCURRENCY"] = "4";
        // Every Gemini answer takes a minute while silo B holds the jobs.
        fixture.Gemini.Faults.Configure(new FaultSettings { LatencyMs = 60_000 });
        await using var b = await StartHealthyAsync(env);
        var bId = await SiloStatus.IdentityAsync(b.HttpBase);
        var run = Guid.NewGuid().ToString("N")[..8];
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add(await fixture.Jobs.InsertAsync("image_generation", new { prompt = $"killed {run} {i}" }));
        }

        await Eventually.UntilAsync(() => fixture.Gemini.Stats.InFlight == 4, TimeSpan.FromSeconds(20), "B sends the 4 requests");
        await using var a = await StartHealthyAsync(env);
        var aId = await SiloStatus.IdentityAsync(a.HttpBase);
        fixture.Gemini.Faults.Configure(new FaultSettings());

        var killedAt = DateTimeOffset.UtcNow;
        await b.KillAsync();
        var jobs = await fixture.Jobs.WaitAllFinalAsync(ids, TimeSpan.FromSeconds(45));
        var doneAfter = DateTimeOffset.UtcNow - killedAt;

        var rescuedAfter = new List<double>();
        foreach (var job in jobs)
        {
            Assert.Equal("completed", job.Status);
            Assert.Equal(aId, job.LockedBy);
            var events = await fixture.Jobs.EventsAsync(job.Id);
            Assert.Single(events, e => e.To == "completed");
            var rescue = Assert.Single(await fixture.AuditAsync(job.Id), e => e.From == "processing" && e.To == "pending");
            Assert.Equal(bId, rescue.Worker);
            Assert.StartsWith("worker lost: silo " + bId + " died", rescue.Error);
            rescuedAfter.Add((events.Single(e => e.From == "processing" && e.To == "pending").At - killedAt).TotalSeconds);
        }

        // The 4 requests B had sent when it was killed may be billed: the rescue settled their open intents so, and
        // each job's cost counts its killed attempt too.
        var ledger = await fixture.Jobs.ScalarAsync<string>(
            "SELECT string_agg(state || ' ' || attempt, ',' ORDER BY state, attempt) FROM gemini_cost_ledger WHERE job_id = ANY(@ids)",
            ("ids", ids.ToArray()));
        Assert.Equal(string.Join(',', Enumerable.Repeat("billed 2", 4).Concat(Enumerable.Repeat("possibly_billed 1", 4))), ledger);
        Assert.All(jobs, job => Assert.Equal(2 * 0.039m, job.Result!.Value.GetProperty("costUsd").GetDecimal()));

        output.WriteLine($"B ({bId}) killed; its 4 jobs were rescued {rescuedAfter.Min():0.0}-{rescuedAfter.Max():0.0} s later and all completed on A ({aId}) {doneAfter.TotalSeconds:0.0} s after the kill (lease: 60 s)");
        Assert.True(rescuedAfter.Max() < 30, "rescued by membership, not by the 60 s lease");
    }

    [Fact]
    public async Task Sigterm_FinishesWhatFitsInTheTimeout_GivesBackTheRest_AndExitsZero()
    {
        var env = fixture.Environment();
        env["SHUTDOWN_TIMEOUT_SECONDS"] = "4";
        env["WORKER_CONCURRENCY"] = "4";
        // Jobs without a delay directive take a minute (the configured latency); the quick ones answer in 1.5 s.
        fixture.Gemini.Faults.Configure(new FaultSettings { LatencyMs = 60_000 });
        await using var silo = await StartHealthyAsync(env);
        var run = Guid.NewGuid().ToString("N")[..8];
        var quick = new List<string>();
        var slow = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            quick.Add(await fixture.Jobs.InsertAsync("image_generation", new { prompt = $"quick {run} {i} [emulate:delay=1500ms]" }));
            slow.Add(await fixture.Jobs.InsertAsync("image_generation", new { prompt = $"slow {run} {i}" }));
        }

        await Eventually.UntilAsync(async () => (await SiloStatus.InFlightAsync(silo.HttpBase)).Count == 4 && fixture.Gemini.Stats.InFlight == 4,
            TimeSpan.FromSeconds(20), "4 jobs in flight");
        // An earlier error of a given-back job must survive the give-back.
        await fixture.Jobs.ExecuteAsync("UPDATE generation_job SET error = 'an earlier error' WHERE id = @id", ("id", slow[0]));

        var terminatedAt = DateTimeOffset.UtcNow;
        var exiting = silo.StopAsync(TimeSpan.FromSeconds(40));
        var draining = await Eventually.ValueAsync(() => SiloStatus.HealthAsync(silo.HttpBase), h => h.Code == 503, TimeSpan.FromSeconds(5), "/health while draining");
        var exitCode = await exiting;
        var exitedAfter = DateTimeOffset.UtcNow - terminatedAt;

        output.WriteLine($"/health while draining: {draining.Code} {draining.Body}; exited with {exitCode} after {exitedAfter.TotalSeconds:0.0} s");
        Assert.Equal("{\"status\":\"draining\"}", draining.Body);
        Assert.Equal(0, exitCode);
        foreach (var id in quick)
        {
            var job = await fixture.Jobs.GetAsync(id);
            Assert.Equal("completed", job.Status);
            Assert.Equal(1, job.Attempts);
        }

        foreach (var id in slow)
        {
            var job = await fixture.Jobs.GetAsync(id);
            Assert.Equal("pending", job.Status);
            Assert.Equal(0, job.Attempts);
            Assert.Null(job.LockedBy);
        }

        Assert.Equal("an earlier error", (await fixture.Jobs.GetAsync(slow[0])).Error);

        fixture.Gemini.Faults.Configure(new FaultSettings());
        await using var next = await StartHealthyAsync(env);
        var nextId = await SiloStatus.IdentityAsync(next.HttpBase);
        foreach (var job in await fixture.Jobs.WaitAllFinalAsync(slow, TimeSpan.FromSeconds(30)))
        {
            Assert.Equal("completed", job.Status);
            Assert.Equal(1, job.Attempts);
            Assert.Equal(nextId, job.LockedBy);
        }
    }

    private static async Task<SiloProcess> StartHealthyAsync(IReadOnlyDictionary<string, string?> environment)
    {
        var silo = SiloProcess.Start(environment);
        await silo.WaitHealthyAsync();
        return silo;
    }
}
