using GenerationWorker.Grains.Dispatch;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace GenerationWorker.Grains.Tests.Reliability;

/// <summary>
/// A silo that polls only every 5 s when notifications are lost (and every 30 s while they arrive), so that a job picked
/// up within a second proves the listener is back.
/// </summary>
public sealed class SlowPollFixture : ReliabilityFixture
{
    protected override void Configure(Dictionary<string, string?> env)
    {
        env["POLL_INTERVAL_MS"] = "5000";
        env["JOB_LEASE_SECONDS"] = "3";
    }
}

[Collection(ReliabilityCollection.Name)]
public sealed class DatabaseFaultTests(SlowPollFixture fixture, ITestOutputHelper output) : IClassFixture<SlowPollFixture>
{
    [Fact]
    public async Task TerminatedConnections_JobsStillComplete_AndTheListenerComesBack()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        var ids = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            ids.Add(await fixture.Jobs.InsertAsync("image_generation", new { prompt = $"terminated {run} {i} [emulate:delay=300ms]" }));
        }

        await Eventually.UntilAsync(async () => (await fixture.Jobs.AllAsync()).Count(j => ids.Contains(j.Id) && j.Status == "completed") >= 3,
            TimeSpan.FromSeconds(20), "the first jobs complete");
        var terminated = await fixture.Jobs.ScalarAsync<long>(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()) t");
        var listener = fixture.Silo.Services.GetRequiredService<JobNotificationListener>();
        // The test's own pooled connections were terminated too: read through fresh ones.
        var table = new JobTable(fixture.ConnectionString + ";Pooling=false");

        var jobs = await table.WaitAllFinalAsync(ids, TimeSpan.FromSeconds(40));
        Assert.All(jobs, j => Assert.Equal("completed", j.Status));
        await Eventually.UntilAsync(() => listener.IsHealthy, TimeSpan.FromSeconds(15), "the listener reconnects");
        await Eventually.ValueAsync(() => SiloStatus.HealthAsync(fixture.Silo.HttpBase), h => h.Code == 200, TimeSpan.FromSeconds(10), "/health 200");
        Assert.Empty(await fixture.Silo.Grains.GetGrain<Interfaces.IDispatcherGrain>(await SiloStatus.IdentityAsync(fixture.Silo.HttpBase)).GetStatusAsync() is { InFlight: var f } ? f : []);

        var tag = "after-terminate " + Guid.NewGuid().ToString("N");
        var inserted = DateTimeOffset.UtcNow;
        var id = await table.InsertAsync("image_generation", new { prompt = tag });
        await table.WaitFinalAsync(id);
        var pickup = fixture.RequestsFor(tag).Single().ArrivedAt - inserted;

        output.WriteLine($"terminated {terminated} connections; all 20 jobs completed (attempts: {string.Join(",", jobs.Select(j => j.Attempts))}); a job inserted afterwards reached Gemini {pickup.TotalMilliseconds:0} ms later");
        Assert.True(pickup < TimeSpan.FromSeconds(1), "picked up by notification, not by the 5 s poll");
        Assert.DoesNotContain((await table.EventsAsync()).Where(e => e.To == "completed").GroupBy(e => e.JobId), g => g.Count() > 1);
    }

    [Fact]
    public async Task PostgresRestart_JobsComplete_HealthRecoversWithoutRestartingTheSilo()
    {
        await using var postgres = await PrivatePostgres.StartAsync();
        var jobs = new JobTable(postgres.ConnectionString + ";Pooling=false");
        await using var silo = await WorkerSilo.StartAsync(fixture.Environment(postgres.ConnectionString));
        var run = Guid.NewGuid().ToString("N")[..8];
        var ids = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            ids.Add(await jobs.InsertAsync("image_generation", new { prompt = $"restart {run} {i} [emulate:delay=500ms]" }));
        }

        await Eventually.UntilAsync(async () => (await jobs.AllAsync()).Count(j => j.Status == "completed") >= 2, TimeSpan.FromSeconds(20), "the first jobs complete");
        var stoppedAt = DateTimeOffset.UtcNow;
        await postgres.StopAsync();
        var down = await Eventually.ValueAsync(() => SiloStatus.HealthAsync(silo.HttpBase), h => h.Code == 503, TimeSpan.FromSeconds(10), "/health 503 while the database is down");
        await postgres.StartAgainAsync();
        var startedAt = DateTimeOffset.UtcNow;
        await Eventually.ValueAsync(() => SiloStatus.HealthAsync(silo.HttpBase), h => h.Code == 200, TimeSpan.FromSeconds(20), "/health 200 again");
        var healthyAfter = DateTimeOffset.UtcNow - startedAt;

        var final = await jobs.WaitAllFinalAsync(ids, TimeSpan.FromSeconds(60));
        output.WriteLine($"database down {(startedAt - stoppedAt).TotalSeconds:0.0} s; /health said {down.Code} {down.Body}; healthy {healthyAfter.TotalSeconds:0.0} s after the restart; attempts: {string.Join(",", final.Select(j => j.Attempts))}");
        Assert.All(final, j => Assert.Equal("completed", j.Status));
        Assert.Contains("database", down.Body);
        Assert.DoesNotContain((await jobs.EventsAsync()).Where(e => e.To == "completed").GroupBy(e => e.JobId), g => g.Count() > 1);

        // The restart in one step (pg_ctl restart) as well: the same silo keeps working.
        await postgres.RestartAsync();
        var late = await jobs.InsertAsync("image_generation", new { prompt = $"after restart {run}" });
        Assert.Equal("completed", (await jobs.WaitFinalAsync(late, TimeSpan.FromSeconds(30))).Status);
        await silo.StopAsync();
    }
}
