using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Telemetry;

/// <summary>
/// Logs, once a minute when any job attempt ended on this silo, how many ended and how.
/// </summary>
/// <remarks>
/// Each job's own completion line is at Debug: at full speed a line per job is thousands a second, past what a log
/// pipeline keeps (Railway keeps 500 lines a second per replica and drops the rest, warnings included). Failures and
/// retries still log a line each.
/// </remarks>
public sealed partial class JobSummaryLog(WorkerHealth health, TimeProvider time, ILogger<JobSummaryLog> logger)
{
    /// <summary>How often the attempts ended are summed up.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    /// <summary>Logs a summary each <see cref="Interval"/> until <paramref name="cancellationToken"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var last = health.Ended;
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var now = health.Ended;
                var ended = now - last;
                last = now;
                if (ended.Total > 0)
                {
                    LogSummary(logger, ended.Total, Interval.TotalSeconds, ended.Completed, ended.Failed, ended.Retried,
                        ended.Released, ended.Cancelled, health.InFlight);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
