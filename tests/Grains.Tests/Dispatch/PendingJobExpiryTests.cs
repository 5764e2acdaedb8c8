using GenerationWorker.Grains.Configuration;
using GenerationWorker.Grains.Dispatch;
using GenerationWorker.Grains.Postgres;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace GenerationWorker.Grains.Tests.Dispatch;

/// <summary>
/// Pending jobs never claimed fail once older than <c>PENDING_EXPIRY_MINUTES</c>, against a real, migrated database
/// (rows are made old by setting created_at back: the statement uses the database's clock).
/// </summary>
public sealed class PendingJobExpiryTests : IAsyncLifetime
{
    private MigratedDatabase _database = null!;
    private NpgsqlDataSource _dataSource = null!;
    private JobTable _jobs = null!;

    public async Task InitializeAsync()
    {
        _database = await MigratedDatabase.CreateAsync("expiry");
        (_dataSource, _jobs) = (_database.DataSource, _database.Jobs);
    }

    public async Task DisposeAsync() => await _database.DisposeAsync();

    private PendingJobExpiry Expiry(int minutes, TimeProvider? time = null) => new(
        new JobStore(_dataSource), Options.Create(new WorkerOptions { PendingExpiry = TimeSpan.FromMinutes(minutes) }),
        time ?? TimeProvider.System, NullLogger<PendingJobExpiry>.Instance);

    private async Task<string> JobAsync(TimeSpan age, string status = "pending", int attempts = 0, bool started = false)
    {
        var id = await _jobs.InsertAsync("image_generation", new { prompt = "p" });
        await _jobs.ExecuteAsync(
            """
            UPDATE generation_job
            SET created_at = now() - make_interval(secs => @age), status = @status, attempts = @attempts,
                started_at = CASE WHEN @started THEN now() - make_interval(secs => @age) END
            WHERE id = @id
            """,
            ("id", id), ("age", age.TotalSeconds), ("status", status), ("attempts", attempts), ("started", started));
        return id;
    }

    [Fact]
    public async Task OnlyPendingJobsNeverClaimed_AndOlderThanTheExpiry_Fail()
    {
        var old = await JobAsync(TimeSpan.FromMinutes(31));
        var young = await JobAsync(TimeSpan.FromMinutes(29));
        var retrying = await JobAsync(TimeSpan.FromMinutes(31), attempts: 1);
        var givenBack = await JobAsync(TimeSpan.FromMinutes(31), started: true);
        var running = await JobAsync(TimeSpan.FromMinutes(31), status: "processing", attempts: 1, started: true);
        var cancelled = await JobAsync(TimeSpan.FromMinutes(31), status: "cancelled");

        var expired = await Expiry(30).ExpireAsync(CancellationToken.None);

        Assert.Equal(1, expired);
        var job = await _jobs.GetAsync(old);
        Assert.Equal(("failed", "expired after 30 minutes", 0), (job.Status, job.Error, job.Attempts));
        Assert.NotNull(job.CompletedAt);
        Assert.Contains(await _jobs.EventsAsync(old), e => e.From == "pending" && e.To == "failed");
        Assert.Equal("pending", (await _jobs.GetAsync(young)).Status);
        Assert.Equal("pending", (await _jobs.GetAsync(retrying)).Status);
        Assert.Equal("pending", (await _jobs.GetAsync(givenBack)).Status);
        Assert.Equal("processing", (await _jobs.GetAsync(running)).Status);
        Assert.Equal("cancelled", (await _jobs.GetAsync(cancelled)).Status);
    }

    [Fact]
    public async Task AJobNeverClaimed_WithANullAttemptCounter_AlsoExpires()
    {
        // An app-created table may allow NULL here; the claim already reads NULL as 0.
        await _jobs.ExecuteAsync("ALTER TABLE generation_job ALTER COLUMN attempts DROP NOT NULL");
        var old = await JobAsync(TimeSpan.FromMinutes(31));
        await _jobs.ExecuteAsync("UPDATE generation_job SET attempts = NULL WHERE id = @id", ("id", old));

        Assert.Equal(1, await Expiry(30).ExpireAsync(CancellationToken.None));
        Assert.Equal("failed", await _jobs.ScalarAsync<string>("SELECT status FROM generation_job WHERE id = @id", ("id", old)));
    }

    [Fact]
    public async Task ABacklogLargerThanABatch_IsExpiredInOneRun()
    {
        await _jobs.ExecuteAsync(
            """
            INSERT INTO generation_job (id, client_id, type, payload, created_at)
            SELECT 'job_old_' || n, 'c', 'image_generation', '{"prompt":"p"}', now() - interval '2 hours'
            FROM generate_series(1, @count) AS n
            """, ("count", PendingJobExpiry.BatchSize * 2 + 7));

        var expired = await Expiry(60).ExpireAsync(CancellationToken.None);

        Assert.Equal(PendingJobExpiry.BatchSize * 2 + 7, expired);
        Assert.Equal(0L, await _jobs.ScalarAsync<long>("SELECT count(*) FROM generation_job WHERE status = 'pending'"));
    }

    [Fact]
    public async Task TheStatement_ReadsPendingRowsThroughTheirPartialIndex()
    {
        // Many finished rows and a few pending ones, as in a table that has run for a while.
        await _jobs.ExecuteAsync(
            """
            INSERT INTO generation_job (id, client_id, type, payload, status, created_at)
            SELECT 'job_done_' || n, 'c', 'image_generation', '{"prompt":"p"}', 'completed', now() - interval '2 hours'
            FROM generate_series(1, 20000) AS n
            """);
        await JobAsync(TimeSpan.FromHours(2));
        await _jobs.ExecuteAsync("ANALYZE generation_job");
        var sql = SqlQueries.Get("JobExpirePending")
            .Replace("@Minutes", "30", StringComparison.Ordinal).Replace("@Limit", "500", StringComparison.Ordinal)
            .Replace("@Error", "'expired'", StringComparison.Ordinal);

        var plan = await _jobs.ScalarAsync<string>("EXPLAIN (FORMAT JSON) " + sql);

        Assert.Matches("generation_job_(claimable|scheduled|model)_idx", plan);
    }

    [Fact]
    public async Task TheService_RunsAtStart_ThenOnceAMinute()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var first = await JobAsync(TimeSpan.FromMinutes(11));
        using var service = Expiry(10, time);

        await service.StartAsync(CancellationToken.None);
        try
        {
            await _jobs.WaitForAsync(first, job => job.Status == "failed");
            var second = await JobAsync(TimeSpan.FromMinutes(11));
            time.Advance(PendingJobExpiry.Interval);

            var job = await _jobs.WaitForAsync(second, job => job.Status == "failed");

            Assert.Equal("expired after 10 minutes", job.Error);
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task ZeroMinutes_ExpiresNothing()
    {
        var old = await JobAsync(TimeSpan.FromDays(3));
        using var service = Expiry(0);

        await service.StartAsync(CancellationToken.None);
        await service.ExecuteTask!;

        Assert.Equal("pending", (await _jobs.GetAsync(old)).Status);
    }
}
