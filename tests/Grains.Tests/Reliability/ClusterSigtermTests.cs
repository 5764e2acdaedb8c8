using GenerationWorker.TestSupport;
using Xunit.Abstractions;

namespace GenerationWorker.Grains.Tests.Reliability;

/// <summary>
/// A two-silo cluster stopped at once (a deploy replacing every replica): the silo holding a job must drain it though
/// its peer leaves the cluster during the drain. And one silo stopped alone: its peer goes on and runs the job.
/// </summary>
/// <remarks>
/// The lease is far longer than the test: a claim the drain lost would stay processing, not be rescued by its expiry.
/// Each test has a database of its own, so a job one test gives back is never claimed by the next one's silos.
/// </remarks>
[Collection(ReliabilityCollection.Name)]
public sealed class ClusterSigtermTests(ProcessFixture fixture, ITestOutputHelper output) : IClassFixture<ProcessFixture>
{
    [Fact]
    public async Task BothSilosSigtermed_TheJobInFlightCompletesWithinTheDrain_AndBothExitZero()
    {
        var (job, held, exitCodes) = await SigtermBothWhileAJobRunsAsync(shutdownTimeoutSeconds: 30);

        Assert.Equal([0, 0], exitCodes);
        Assert.Equal("completed", job.Status);
        Assert.Equal(1, job.Attempts);
        Assert.Equal(0, held);
    }

    [Fact]
    public async Task BothSilosSigtermed_ADrainShorterThanTheJob_GivesItBackAtOnce_WithItsAttemptRefunded()
    {
        var (job, held, exitCodes) = await SigtermBothWhileAJobRunsAsync(shutdownTimeoutSeconds: 1);

        Assert.Equal([0, 0], exitCodes);
        Assert.Equal("pending", job.Status);
        Assert.Equal(0, job.Attempts);
        Assert.Equal(0, held);
    }

    [Fact]
    public async Task OneSiloSigtermed_ItGivesTheJobBack_AndTheOtherKeepsRunningAndCompletesIt()
    {
        var database = await PostgresServer.CreateDatabaseAsync("rel");
        try
        {
            var env = Environment(database, shutdownTimeoutSeconds: 1);
            var jobs = new JobTable(database);
            await using var a = await StartHealthyAsync(env);
            await using var b = await StartHealthyAsync(env);
            var id = await jobs.InsertAsync("image_generation", new { prompt = $"one silo stops {Guid.NewGuid():N} [emulate:delay=6s]" });
            await Eventually.UntilAsync(() => fixture.Gemini.Stats.InFlight == 1, TimeSpan.FromSeconds(20), "the job's request at Gemini");
            var holder = (await jobs.GetAsync(id)).LockedBy;
            var (leaving, staying) = holder == await SiloStatus.IdentityAsync(a.HttpBase) ? (a, b) : (b, a);

            var exitCode = await leaving.StopAsync(TimeSpan.FromSeconds(45));
            var job = await jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(45));

            Assert.Equal(0, exitCode);
            Assert.Equal("completed", job.Status);
            Assert.Equal(1, job.Attempts);
            Assert.Equal(await SiloStatus.IdentityAsync(staying.HttpBase), job.LockedBy);
            Assert.Equal(200, (await SiloStatus.HealthAsync(staying.HttpBase)).Code);
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(database);
        }
    }

    /// <summary>
    /// Starts two silos, lets one of them send a job's request (the emulator answers it after 6 s), SIGTERMs both
    /// together and waits for both exits. Returns the job, how many rows are still processing or hold a lease, and the
    /// exit codes.
    /// </summary>
    private async Task<(JobSnapshot Job, long Held, int[] ExitCodes)> SigtermBothWhileAJobRunsAsync(int shutdownTimeoutSeconds)
    {
        var database = await PostgresServer.CreateDatabaseAsync("rel");
        try
        {
            var env = Environment(database, shutdownTimeoutSeconds);
            var jobs = new JobTable(database);
            await using var a = await StartHealthyAsync(env);
            await using var b = await StartHealthyAsync(env);
            var run = Guid.NewGuid().ToString("N")[..8];
            var id = await jobs.InsertAsync("image_generation", new { prompt = $"whole cluster stops {run} [emulate:delay=6s]" });
            await Eventually.UntilAsync(() => fixture.Gemini.Stats.InFlight == 1, TimeSpan.FromSeconds(20), "the job's request at Gemini");
            var holder = (await jobs.GetAsync(id)).LockedBy;

            var stopping = DateTimeOffset.UtcNow;
            var exitCodes = await Task.WhenAll(
                a.StopAsync(TimeSpan.FromSeconds(shutdownTimeoutSeconds + 45)),
                b.StopAsync(TimeSpan.FromSeconds(shutdownTimeoutSeconds + 45)));
            var job = await jobs.GetAsync(id);
            var held = await jobs.ScalarAsync<long>(
                "SELECT count(*) FROM generation_job WHERE status = 'processing' OR lease_token IS NOT NULL OR lease_expires_at IS NOT NULL");
            output.WriteLine(
                $"held by {holder}; both exited ({string.Join(", ", exitCodes)}) {(DateTimeOffset.UtcNow - stopping).TotalSeconds:0.0} s after SIGTERM; job {job.Status}, attempts {job.Attempts}");
            if (job.Status != (shutdownTimeoutSeconds > 6 ? "completed" : "pending"))
            {
                output.WriteLine(a.Describe("silo A"));
                output.WriteLine(b.Describe("silo B"));
            }

            return (job, held, exitCodes);
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(database);
        }
    }

    /// <summary>A fresh cluster on <paramref name="database"/> whose lease outlasts the test.</summary>
    private Dictionary<string, string?> Environment(string database, int shutdownTimeoutSeconds)
    {
        var env = fixture.Environment(database);
        env["ORLEANS_CLUSTER_ID"] = "stop-" + Guid.NewGuid().ToString("N")[..12];
        env["SHUTDOWN_TIMEOUT_SECONDS"] = shutdownTimeoutSeconds.ToString();
        env["JOB_LEASE_SECONDS"] = "3600";
        return env;
    }

    private static async Task<SiloProcess> StartHealthyAsync(IReadOnlyDictionary<string, string?> environment)
    {
        var silo = SiloProcess.Start(environment);
        await silo.WaitHealthyAsync();
        return silo;
    }
}
