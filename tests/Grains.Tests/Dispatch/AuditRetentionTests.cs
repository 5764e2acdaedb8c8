using GenerationWorker.Grains.Configuration;
using GenerationWorker.Grains.Dispatch;
using GenerationWorker.Grains.Postgres;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace GenerationWorker.Grains.Tests.Dispatch;

/// <summary>Audit rows older than <c>AUDIT_RETENTION_DAYS</c> are deleted, against a real, migrated database.</summary>
public sealed class AuditRetentionTests : IAsyncLifetime
{
    private MigratedDatabase _database = null!;
    private NpgsqlDataSource _dataSource = null!;
    private JobTable _jobs = null!;

    public async Task InitializeAsync()
    {
        _database = await MigratedDatabase.CreateAsync("audit");
        (_dataSource, _jobs) = (_database.DataSource, _database.Jobs);
    }

    public async Task DisposeAsync() => await _database.DisposeAsync();

    private AuditRetention Retention(int days) => new(
        new JobStore(_dataSource), Options.Create(new WorkerOptions { AuditRetention = TimeSpan.FromDays(days) }),
        TimeProvider.System, NullLogger<AuditRetention>.Instance);

    [Fact]
    public async Task EventsOlderThanTheRetention_AreDeleted_AndNewerOnesKept()
    {
        var old = await _jobs.InsertAsync("image_generation", new { prompt = "old" });
        var recent = await _jobs.InsertAsync("image_generation", new { prompt = "recent" });
        await _jobs.ExecuteAsync("UPDATE generation_job_event SET at = now() - interval '31 days' WHERE job_id = @id", ("id", old));
        await _jobs.ExecuteAsync("UPDATE generation_job_event SET at = now() - interval '29 days' WHERE job_id = @id", ("id", recent));
        Assert.NotEmpty(await _jobs.EventsAsync(old));

        var deleted = await Retention(30).PruneAsync(CancellationToken.None);

        Assert.True(deleted > 0);
        Assert.Empty(await _jobs.EventsAsync(old));
        Assert.NotEmpty(await _jobs.EventsAsync(recent));
    }

    [Fact]
    public async Task AZeroRetention_KeepsEverything()
    {
        var id = await _jobs.InsertAsync("image_generation", new { prompt = "kept" });
        await _jobs.ExecuteAsync("UPDATE generation_job_event SET at = now() - interval '3000 days' WHERE job_id = @id", ("id", id));
        using var stop = new CancellationTokenSource();
        var retention = Retention(0);

        await retention.StartAsync(stop.Token);
        await retention.ExecuteTask!;

        Assert.NotEmpty(await _jobs.EventsAsync(id));
    }
}
