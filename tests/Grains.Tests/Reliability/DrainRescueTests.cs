using GenerationWorker.TestSupport;

namespace GenerationWorker.Grains.Tests.Reliability;

/// <summary>Silos with a lease far longer than the test: only membership can rescue a claim.</summary>
public sealed class LongLeaseFixture : ReliabilityFixture
{
    protected override void Configure(Dictionary<string, string?> env) => env["JOB_LEASE_SECONDS"] = "3600";
}

[Collection(ReliabilityCollection.Name)]
public sealed class DrainRescueTests(LongLeaseFixture fixture) : IClassFixture<LongLeaseFixture>
{
    [Fact]
    public async Task AClaimOfASiloThatLeftThroughADrain_IsRescuedWithoutSpendingItsAttempt()
    {
        var leaving = await fixture.StartSiloAsync();
        var owner = await SiloStatus.IdentityAsync(leaving.HttpBase);
        // A claim the leaving silo's drain does not know of (as when its give-back could not finish): only the
        // surviving silo's rescue can put it back.
        var id = "job_" + Guid.NewGuid().ToString("N");
        await fixture.Jobs.ExecuteAsync(
            """
            INSERT INTO generation_job (id, client_id, type, payload, status, attempts, max_attempts, locked_by, locked_at,
                                        started_at, lease_token, lease_expires_at)
            VALUES (@id, 'client-1', 'image_generation', '{"prompt":"drained rescue"}'::jsonb, 'processing', 1, 1, @owner,
                    now(), now(), gen_random_uuid(), now() + interval '1 hour')
            """,
            ("id", id),
            ("owner", owner));

        await leaving.StopAsync();

        // With max_attempts 1, a rescue that spent the attempt would fail the job as "worker lost".
        var done = await fixture.Jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(60));
        Assert.Equal("completed", done.Status);
        Assert.Equal(1, done.Attempts);
        Assert.Contains(await fixture.AuditAsync(id), e => e.From == "processing" && e.To == "pending" && e.Error!.Contains("shut down", StringComparison.Ordinal));
    }
}
