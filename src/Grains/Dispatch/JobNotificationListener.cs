using GenerationWorker.Grains.Postgres;
using GenerationWorker.Interfaces;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace GenerationWorker.Grains.Dispatch;

/// <summary>
/// Holds one connection that LISTENs on the <c>generation_job</c> channel and turns notifications into wake-ups of this
/// silo's dispatcher: a new or retried job is picked up within milliseconds, a cancellation stops its job at once.
/// </summary>
/// <remarks>
/// When the connection drops it reconnects with backoff and wakes the dispatcher once connected (to catch up on what
/// was missed); meanwhile <see cref="IsHealthy"/> is false and the dispatcher polls every <c>POLL_INTERVAL_MS</c>.
/// A transaction-mode pooler accepts LISTEN but never delivers: use a direct connection, or set LISTEN_ENABLED=false.
/// </remarks>
public sealed partial class JobNotificationListener(
    NpgsqlDataSource dataSource,
    TimeProvider time,
    ILogger<JobNotificationListener> logger)
{
    private volatile bool _healthy;
    private IDispatcherGrain? _dispatcher;
    private int _wakeQueued;

    /// <summary>True while notifications are being received.</summary>
    public bool IsHealthy => _healthy;

    /// <summary>Listens until <paramref name="cancellationToken"/> is cancelled, waking <paramref name="dispatcher"/>.</summary>
    public async Task RunAsync(IDispatcherGrain dispatcher, CancellationToken cancellationToken)
    {
        _dispatcher = dispatcher;
        var backoff = TimeSpan.FromMilliseconds(250);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
                connection.Notification += OnNotification;
                await using (var listen = new NpgsqlCommand(SqlQueries.Get("JobListen"), connection))
                {
                    await listen.ExecuteNonQueryAsync(cancellationToken);
                }

                _healthy = true;
                backoff = TimeSpan.FromMilliseconds(250);
                LogListening(logger);
                RequestWake();
                while (true)
                {
                    await connection.WaitAsync(cancellationToken);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception exception)
            {
                _healthy = false;
                LogListenFailed(logger, backoff.TotalMilliseconds, exception);
                try
                {
                    await Task.Delay(backoff, time, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }

        _healthy = false;
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        if (e.Payload.StartsWith("cancelled:", StringComparison.Ordinal))
        {
            _ = SendAsync(d => d.CancelJobAsync(e.Payload["cancelled:".Length..]));
        }
        else
        {
            RequestWake();
        }
    }

    private void RequestWake()
    {
        if (Interlocked.Exchange(ref _wakeQueued, 1) == 0)
        {
            _ = SendAsync(d =>
            {
                Volatile.Write(ref _wakeQueued, 0);
                return d.WakeAsync();
            });
        }
    }

    private async Task SendAsync(Func<IDispatcherGrain, Task> call)
    {
        await Task.Yield();
        try
        {
            if (_dispatcher is { } dispatcher)
            {
                await call(dispatcher);
            }
        }
        catch (Exception exception)
        {
            LogWakeFailed(logger, exception);
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Listening for job notifications")]
    private static partial void LogListening(ILogger logger);

    [LoggerMessage(2, LogLevel.Warning, "Job notifications lost; polling meanwhile, reconnecting in {DelayMs} ms")]
    private static partial void LogListenFailed(ILogger logger, double delayMs, Exception exception);

    [LoggerMessage(3, LogLevel.Warning, "Could not pass a job notification to the dispatcher")]
    private static partial void LogWakeFailed(ILogger logger, Exception exception);
}
