using System.Collections.Concurrent;
using GenerationWorker.Grains.Tests.Reliability;
using GenerationWorker.Interfaces;

namespace GenerationWorker.Grains.Tests.Dispatch;

/// <summary>A silo whose job grains refuse to start the jobs a test names, once each; a lease of 60 s.</summary>
public sealed class FailedStartFixture : CallFilterFixture<RefusedStarts>
{
    protected override void Configure(Dictionary<string, string?> env) => env["JOB_LEASE_SECONDS"] = "60";
}

/// <summary>Fails the first <c>StartAsync</c> of the named jobs, as a job grain whose activation failed would.</summary>
public sealed class RefusedStarts : IIncomingGrainCallFilter
{
    private readonly ConcurrentDictionary<string, int> _refused = new(StringComparer.Ordinal);

    /// <summary>The first start of <paramref name="jobId"/> fails.</summary>
    public void RefuseOnce(string jobId) => _refused[jobId] = 0;

    /// <summary>How many starts of <paramref name="jobId"/> were refused.</summary>
    public int RefusedCount(string jobId) => _refused.GetValueOrDefault(jobId);

    /// <inheritdoc />
    public Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.InterfaceMethod?.Name == nameof(IJobGrain.StartAsync)
            && context.Request.GetArgument(0) is JobAssignment assignment
            && _refused.TryGetValue(assignment.JobId, out var count) && count == 0)
        {
            _refused[assignment.JobId] = 1;
            throw new InvalidOperationException("the job grain could not be activated (test)");
        }

        return context.Invoke();
    }
}

[Collection(ReliabilityCollection.Name)]
public sealed class FailedStartTests(FailedStartFixture fixture) : IClassFixture<FailedStartFixture>
{
    [Fact]
    public async Task AClaimedJobThatCannotStart_IsGivenBackAtOnce_WithItsAttemptRefunded_AndThenRuns()
    {
        var id = "job_" + Guid.NewGuid().ToString("N");
        fixture.Filter.RefuseOnce(id);
        await fixture.Jobs.InsertAsync("image_generation", new { prompt = "cannot start once " + id }, id: id);

        // Far sooner than the 60 s lease whose expiry would otherwise rescue it.
        var job = await fixture.Jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(20));

        Assert.Equal(1, fixture.Filter.RefusedCount(id));
        Assert.Equal("completed", job.Status);
        Assert.Equal(1, job.Attempts);
        var audit = await fixture.AuditAsync(id);
        Assert.Contains(audit, e => e.From == "processing" && e.To == "pending" && e.Attempt == 0);
    }
}
