using GenerationWorker.Grains.Postgres;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace GenerationWorker.Grains.Tests.Postgres;

/// <summary>Completions written together in one statement, against a real, migrated database.</summary>
public sealed class JobCompletionsTests : IAsyncLifetime
{
    private MigratedDatabase _database = null!;
    private NpgsqlDataSource _dataSource = null!;
    private JobTable _jobs = null!;

    public async Task InitializeAsync()
    {
        _database = await MigratedDatabase.CreateAsync("compl");
        (_dataSource, _jobs) = (_database.DataSource, _database.Jobs);
    }

    public async Task DisposeAsync() => await _database.DisposeAsync();

    [Fact]
    public async Task ManyAtOnce_EachLearnsItsOwnOutcome_AndTheLastVariantsAreRecorded()
    {
        var claims = new List<(string Id, Guid Lease)>();
        for (var i = 0; i < 60; i++)
        {
            claims.Add(await ClaimedJobAsync());
        }

        var stolen = claims[7];
        await _jobs.ExecuteAsync("UPDATE generation_job SET lease_token = gen_random_uuid() WHERE id = @id", ("id", stolen.Id));
        var store = new JobStore(_dataSource);
        await using var completions = new JobCompletions(store, NullLogger<JobCompletions>.Instance);

        var results = await Task.WhenAll(claims.Select(c => completions.CompleteAsync(
            c.Id, c.Lease, $$"""{"imageUrls":["https://cdn.test/{{c.Id}}/0.png"]}""", Output(c.Id), CancellationToken.None)));

        Assert.Equal(claims.Select(c => c != stolen), results);
        foreach (var (id, _) in claims)
        {
            var job = await _jobs.GetAsync(id);
            var outputs = await _jobs.ScalarAsync<long>("SELECT count(*) FROM generation_job_output WHERE job_id = @id", ("id", id));
            if (id == stolen.Id)
            {
                Assert.Equal(("processing", 0L), (job.Status, outputs));
            }
            else
            {
                Assert.Equal(("completed", 100, 1L), (job.Status, job.Progress, outputs));
                Assert.Equal($"https://cdn.test/{id}/0.png", Assert.Single(job.ImageUrls));
            }
        }

        // Written together: rows completed by one statement share its transaction id, and there are fewer of those
        // than completions (all 60 were queued before the first write could end).
        var transactions = await _jobs.ScalarAsync<long>("SELECT count(DISTINCT xmin::text) FROM generation_job WHERE status = 'completed'");
        Assert.InRange(transactions, 1, 30);
    }

    [Fact]
    public async Task WhenTheStatementForSeveralFails_EachIsWrittenOnItsOwn()
    {
        var good = new List<(string Id, Guid Lease)>();
        for (var i = 0; i < 20; i++)
        {
            good.Add(await ClaimedJobAsync());
        }

        var bad = await ClaimedJobAsync();
        var store = new JobStore(_dataSource);
        await using var completions = new JobCompletions(store, NullLogger<JobCompletions>.Instance);

        // A result that is not JSON fails any statement it is part of; queued amid the others, it shares theirs.
        var writes = good.Take(10).Select(c => completions.CompleteAsync(c.Id, c.Lease, "{}", null, CancellationToken.None)).ToList();
        var failing = completions.CompleteAsync(bad.Id, bad.Lease, "not json", null, CancellationToken.None);
        writes.AddRange(good.Skip(10).Select(c => completions.CompleteAsync(c.Id, c.Lease, "{}", null, CancellationToken.None)));

        Assert.All(await Task.WhenAll(writes), Assert.True);
        await Assert.ThrowsAsync<PostgresException>(() => failing);
        Assert.Equal("processing", (await _jobs.GetAsync(bad.Id)).Status);
        Assert.All(good, c => Assert.Equal("completed", _jobs.GetAsync(c.Id).GetAwaiter().GetResult().Status));
    }

    private static UnrecordedOutput Output(string id) =>
        new(new StoredOutput(0, $"generations/client-1/{id}/0.png", $"https://cdn.test/{id}/0.png", "img-" + id), "image/png", 1234);

    private async Task<(string Id, Guid Lease)> ClaimedJobAsync()
    {
        var id = await _jobs.InsertAsync("image_generation", new { prompt = "completions" });
        var lease = await _jobs.ScalarAsync<Guid>(
            """
            UPDATE generation_job SET status = 'processing', attempts = 1, lease_token = gen_random_uuid(), locked_by = 'test',
                lease_expires_at = now() + interval '1 hour', started_at = now()
            WHERE id = @id RETURNING lease_token
            """, ("id", id));
        return (id, lease);
    }
}
