using GenerationWorker.Grains.Configuration;
using GenerationWorker.Grains.Postgres;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GenerationWorker.Grains.Dispatch;

/// <summary>
/// Fails pending jobs that no worker claimed within <see cref="WorkerOptions.PendingExpiry"/> of their creation
/// ("expired after N minutes"), as the previous worker did, so that a backlog the app has given up on costs no Gemini
/// request. Runs on each silo at start and then once per <see cref="Interval"/>; off when the expiry is zero.
/// </summary>
/// <remarks>
/// Silos expire side by side without coordination: the statement skips rows another one holds, and a job being
/// claimed at that moment is left to its claim. A job runs, rather than expires, when it is claimed in the minute
/// between passing its age and the next run.
/// </remarks>
public sealed partial class PendingJobExpiry(
    JobStore jobs, IOptions<WorkerOptions> options, TimeProvider time, ILogger<PendingJobExpiry> logger) : BackgroundService
{
    /// <summary>How often each silo looks for expired jobs: once a minute.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    /// <summary>The most jobs one statement fails; a full batch is followed by another at once.</summary>
    public const int BatchSize = 500;

    private readonly int _minutes = (int)Math.Round(options.Value.PendingExpiry.TotalMinutes);

    /// <summary>The error written to an expired job.</summary>
    public string Error => $"expired after {_minutes} minutes";

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_minutes <= 0)
        {
            return;
        }

        LogEnabled(logger, _minutes);
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            await ExpireAsync(stoppingToken);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Fails every pending job past its expiry now, in batches; returns how many.</summary>
    public async Task<int> ExpireAsync(CancellationToken cancellationToken)
    {
        var total = 0;
        try
        {
            IReadOnlyList<string> expired;
            do
            {
                expired = await jobs.ExpirePendingAsync(_minutes, BatchSize, Error, cancellationToken);
                foreach (var id in expired)
                {
                    LogExpired(logger, id, _minutes);
                }

                total += expired.Count;
            }
            while (expired.Count == BatchSize);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // The database is unreachable for now: the next run catches up.
            LogFailed(logger, exception);
        }

        return total;
    }
}
