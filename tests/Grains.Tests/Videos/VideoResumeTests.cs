using GenerationWorker.Grains.Tests.Reliability;
using GenerationWorker.TestSupport;
using Xunit.Abstractions;
using SiloStatus = GenerationWorker.Grains.Tests.Reliability.SiloStatus;

namespace GenerationWorker.Grains.Tests.Videos;

/// <summary>
/// A video job polling its operation survives what stops its silo or its database: whoever holds it next polls the
/// same operation, and the emulator sees exactly one start.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class VideoResumeTests(ProcessFixture fixture, ITestOutputHelper output) : IClassFixture<ProcessFixture>
{
    [Fact]
    public async Task KilledSilo_WhilePolling_AnotherSiloResumesTheSameOperation()
    {
        var env = Environment();
        var tag = Tag();
        await using var b = await StartHealthyAsync(env);
        var bId = await SiloStatus.IdentityAsync(b.HttpBase);
        // The operation outlasts a silo's start on a loaded machine (seen: more than 8 s), so B is still polling it when
        // it is killed after A is up.
        var id = await InsertAsync(fixture.Jobs, $"killed while polling {tag} [emulate:video-time=40s]");
        await fixture.Jobs.WaitForAsync(id, j => j.Progress >= 20, TimeSpan.FromSeconds(30));
        var operationName = await OperationNameAsync(fixture.Jobs, id);
        await using var a = await StartHealthyAsync(env);
        var aId = await SiloStatus.IdentityAsync(a.HttpBase);

        Assert.False((await fixture.Jobs.GetAsync(id)).IsFinal, "the operation ended before B was killed");
        await b.KillAsync();
        var killedAt = DateTimeOffset.UtcNow;
        JobSnapshot job;
        try
        {
            job = await fixture.Jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(90));
        }
        catch (TimeoutException)
        {
            output.WriteLine(a.Describe("A") + "\n" + b.Describe("B") + $"\nkilled at {killedAt:O}");
            throw;
        }

        var claimsAfter = (await fixture.Jobs.EventsAsync(id)).Where(e => e.To == "processing" && e.At > killedAt.AddSeconds(1)).ToList();
        output.WriteLine($"B ({bId}) killed while polling {operationName}; A ({aId}) claimed it {claimsAfter.Count} times after and completed it; starts: {Starts(tag)}");
        Assert.Equal("completed", job.Status);
        Assert.Equal(1, job.Attempts);
        Assert.Equal(aId, job.LockedBy);
        Assert.NotEmpty(claimsAfter);
        Assert.All(claimsAfter, e => Assert.Equal(aId, e.Worker));
        Assert.Equal(1, Starts(tag));
        Assert.Equal(operationName, Assert.Single(Operations(tag)).Name);
    }

    [Fact]
    public async Task SigtermDrain_WhilePolling_TheNextSiloResumesTheSameOperation()
    {
        var env = Environment();
        var tag = Tag();
        var first = await StartHealthyAsync(env);
        var id = await InsertAsync(fixture.Jobs, $"drained while polling {tag} [emulate:video-time=10s]");
        await fixture.Jobs.WaitForAsync(id, j => j.Progress >= 20, TimeSpan.FromSeconds(30));
        var operationName = await OperationNameAsync(fixture.Jobs, id);

        var exitCode = await first.StopAsync(TimeSpan.FromSeconds(30));
        await first.DisposeAsync();
        var drained = await fixture.Jobs.GetAsync(id);
        await using var next = await StartHealthyAsync(env);
        var nextId = await SiloStatus.IdentityAsync(next.HttpBase);
        var job = await fixture.Jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(60));

        output.WriteLine($"drained with exit code {exitCode}; the job was {drained.Status} at progress {drained.Progress} (attempts {drained.Attempts}); completed by {nextId}; starts: {Starts(tag)}");
        Assert.Equal(0, exitCode);
        Assert.Equal("pending", drained.Status);
        Assert.Null(drained.Error);
        Assert.Equal("completed", job.Status);
        Assert.Equal(1, job.Attempts);
        Assert.Equal(nextId, job.LockedBy);
        Assert.Equal(1, Starts(tag));
        Assert.Equal(operationName, Assert.Single(Operations(tag)).Name);
    }

    [Fact]
    public async Task PostgresRestart_WhilePolling_TheSameOperationIsResumed()
    {
        await using var postgres = await PrivatePostgres.StartAsync();
        var jobs = new JobTable(postgres.ConnectionString + ";Pooling=false");
        var env = Environment(postgres.ConnectionString);
        await using var silo = await WorkerSilo.StartAsync(env);
        var tag = Tag();
        var id = await InsertAsync(jobs, $"database restarted while polling {tag} [emulate:video-time=12s]");
        await jobs.WaitForAsync(id, j => j.Progress >= 20, TimeSpan.FromSeconds(30));
        var operationName = await OperationNameAsync(jobs, id);

        await postgres.StopAsync();
        var pollsWhileDown = Assert.Single(Operations(tag)).Polls;
        await Eventually.ValueAsync(() => SiloStatus.HealthAsync(silo.HttpBase), h => h.Code == 503, TimeSpan.FromSeconds(10), "/health 503 while the database is down");
        await postgres.StartAgainAsync();
        var job = await jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(60));

        output.WriteLine($"database stopped while polling {operationName} (after {pollsWhileDown} polls) and started again; the job completed with attempts {job.Attempts}; starts: {Starts(tag)}");
        Assert.Equal("completed", job.Status);
        Assert.Equal(1, job.Attempts);
        Assert.Equal(1, Starts(tag));
        Assert.Equal(operationName, Assert.Single(Operations(tag)).Name);
        await silo.StopAsync();
    }

    private static string Tag() => "r" + Guid.NewGuid().ToString("N")[..10];

    private static async Task<SiloProcess> StartHealthyAsync(IReadOnlyDictionary<string, string?> environment)
    {
        var silo = SiloProcess.Start(environment);
        await silo.WaitHealthyAsync();
        return silo;
    }

    private static Task<string> InsertAsync(JobTable jobs, string prompt) =>
        jobs.InsertAsync("video_generation", new { prompt, settings = new { aspectRatio = "16:9" } });

    private static Task<string> OperationNameAsync(JobTable jobs, string id) =>
        jobs.ScalarAsync<string>("SELECT operation_name FROM generation_job WHERE id = @id", ("id", id));

    private Dictionary<string, string?> Environment(string? connectionString = null)
    {
        var env = fixture.Environment(connectionString);
        env["VIDEO_POLL_SECONDS"] = "1";
        return env;
    }

    private int Starts(string tag) => fixture.Gemini.VideoStartsFor(tag);

    private IReadOnlyList<GeminiEmulator.VideoOperationEntry> Operations(string tag) =>
        [.. fixture.Gemini.Stats.Video.Operations.Where(operation => operation.Prompt.Contains(tag, StringComparison.Ordinal))];
}
