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
/// A transaction-mode pooler (PgBouncer, Neon's -pooler host) accepts LISTEN but never delivers: after
/// <see cref="ProbeAfter"/> of silence the listener sends itself a notification through an ordinary pooled connection,
/// and if it does not arrive within <see cref="ProbeTimeout"/> it reports itself unhealthy, so the queue is polled.
/// </remarks>
/// <param name="listenSource">Unpooled connections for the LISTEN.</param>
/// <param name="dataSource">The service's pool, through which the delivery probe is sent.</param>
/// <param name="time">The clock.</param>
/// <param name="logger">The logger.</param>
public sealed partial class JobNotificationListener(
    NpgsqlDataSource listenSource,
    NpgsqlDataSource dataSource,
    TimeProvider time,
    ILogger<JobNotificationListener> logger)
{
    /// <summary>Silence after which the listener checks that notifications still arrive: 30 s.</summary>
    public TimeSpan ProbeAfter { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a probe notification may take to come back: 5 s.</summary>
    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Probes sent so far (each after a silence of <see cref="ProbeAfter"/>).</summary>
    public int ProbesSent => Volatile.Read(ref _probesSent);

    private readonly string _probePayload = "ping:" + Guid.NewGuid().ToString("N");
    private volatile bool _healthy;
    private IDispatcherGrain? _dispatcher;
    private int _wakeQueued;
    private long _lastHeardTicks;
    private long _probeSentTicks;
    private int _probesSent;

    /// <summary>
    /// The listening connection's settings: its own connection, outside the pool, with TCP keepalives after 30 s of
    /// silence (then every 5 s), so a connection that died without a word (a NAT or proxy dropping it) fails within a
    /// minute and is reconnected, instead of waiting for notifications forever (the OS default is two hours).
    /// </summary>
    public static string ListenConnectionString(string connectionString) =>
        new NpgsqlConnectionStringBuilder(connectionString)
        {
            Pooling = false,
            TcpKeepAlive = true,
            TcpKeepAliveTime = 30,
            TcpKeepAliveInterval = 5,
        }.ConnectionString;

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
                await using var connection = await listenSource.OpenConnectionAsync(cancellationToken);
                connection.Notification += OnNotification;
                await using (var listen = new NpgsqlCommand(SqlQueries.Get("JobListen"), connection))
                {
                    await listen.ExecuteNonQueryAsync(cancellationToken);
                }

                _healthy = true;
                backoff = TimeSpan.FromMilliseconds(250);
                Heard();
                LogListening(logger);
                RequestWake();
                while (true)
                {
                    await connection.WaitAsync(ProbeTimeout, cancellationToken);
                    await ProbeAsync(cancellationToken);
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
        Heard();
        if (e.Payload.StartsWith("cancelled:", StringComparison.Ordinal))
        {
            _ = SendAsync(d => d.CancelJobAsync(e.Payload["cancelled:".Length..]));
        }
        else if (e.Payload == "pending" || e.Payload.StartsWith("scheduled:", StringComparison.Ordinal))
        {
            RequestWake();
        }
    }

    private void Heard()
    {
        Interlocked.Exchange(ref _lastHeardTicks, time.GetUtcNow().UtcTicks);
        Interlocked.Exchange(ref _probeSentTicks, 0);
        if (!_healthy)
        {
            _healthy = true;
            LogDelivering(logger);
        }
    }

    /// <summary>After a silence, checks that a notification sent through the pool comes back.</summary>
    private async Task ProbeAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcTicks;
        var sent = Interlocked.Read(ref _probeSentTicks);
        if (sent != 0)
        {
            if (now - sent > ProbeTimeout.Ticks && _healthy)
            {
                _healthy = false;
                LogNotDelivering(logger, ProbeTimeout.TotalSeconds);
            }

            if (now - sent <= ProbeAfter.Ticks)
            {
                return;
            }
        }
        else if (now - Interlocked.Read(ref _lastHeardTicks) < ProbeAfter.Ticks)
        {
            return;
        }

        Interlocked.Exchange(ref _probeSentTicks, now);
        Interlocked.Increment(ref _probesSent);
        await using var probe = dataSource.CreateCommand(SqlQueries.Get("JobListenProbe"));
        probe.Parameters.AddWithValue("Payload", _probePayload);
        await probe.ExecuteNonQueryAsync(cancellationToken);
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
}
