using GenerationWorker.Grains.Configuration;
using GenerationWorker.Grains.Postgres;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GenerationWorker.Grains.Dispatch;

/// <summary>
/// Keeps the audit table (<c>generation_job_event</c>, one row per state change of a job) to
/// <see cref="WorkerOptions.AuditRetention"/>: each silo deletes older rows at start and once per <see cref="Interval"/>,
/// in batches; off when the retention is zero.
/// </summary>
public sealed partial class AuditRetention(
    JobStore jobs, IOptions<WorkerOptions> options, TimeProvider time, ILogger<AuditRetention> logger) : BackgroundService
{
    /// <summary>How often each silo prunes: once an hour.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    /// <summary>The most rows one statement deletes; a full batch is followed by another at once.</summary>
    public const int BatchSize = 5000;

    private readonly int _days = (int)Math.Round(options.Value.AuditRetention.TotalDays);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_days <= 0)
        {
            return;
        }

        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            await PruneAsync(stoppingToken);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Deletes every audit row past the retention now, in batches; returns how many.</summary>
    public async Task<int> PruneAsync(CancellationToken cancellationToken)
    {
        var total = 0;
        try
        {
            int deleted;
            do
            {
                deleted = await jobs.PruneAuditAsync(_days, BatchSize, cancellationToken);
                total += deleted;
            }
            while (deleted == BatchSize);

            if (total > 0)
            {
                LogPruned(logger, total, _days);
            }
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // The database is unreachable for now: the next run catches up.
            LogFailed(logger, exception);
        }

        return total;
    }
}
