using GenerationWorker.Grains.Dispatch;
using GenerationWorker.Interfaces;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace GenerationWorker.Grains.Tests.Dispatch;

/// <summary>The listener's delivery probe against a real PostgreSQL.</summary>
public sealed class JobNotificationListenerTests : IAsyncLifetime
{
    private static readonly TimeSpan ListenerDeadline = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    private string _listened = "";
    private string _other = "";

    public async Task InitializeAsync()
    {
        _listened = await PostgresServer.CreateDatabaseAsync("listen");
        _other = await PostgresServer.CreateDatabaseAsync("listen");
    }

    public async Task DisposeAsync()
    {
        await PostgresServer.DropDatabaseAsync(_listened);
        await PostgresServer.DropDatabaseAsync(_other);
    }

    [Fact]
    public async Task WhenNotificationsNeverArrive_TheListenerReportsItselfUnhealthy()
    {
        // The probe goes through a pool whose notifications never reach the listening connection, as behind a
        // transaction pooler that accepts LISTEN and drops it.
        await using var listenSource = NpgsqlDataSource.Create(_listened);
        await using var pool = NpgsqlDataSource.Create(_other);
        var listener = Listener(listenSource, pool);
        using var stop = new CancellationTokenSource();
        var run = listener.RunAsync(new SilentDispatcher(), stop.Token);

        await Eventually.UntilAsync(() => listener.IsHealthy, ListenerDeadline, "the listener connects", PollInterval);
        await Eventually.UntilAsync(() => !listener.IsHealthy, ListenerDeadline, "the unanswered probe makes it unhealthy", PollInterval);
        Assert.True(listener.ProbesSent >= 1);

        await stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task WhenProbesComeBack_TheListenerStaysHealthy()
    {
        await using var listenSource = NpgsqlDataSource.Create(_listened);
        await using var pool = NpgsqlDataSource.Create(_listened);
        var listener = Listener(listenSource, pool);
        using var stop = new CancellationTokenSource();
        var run = listener.RunAsync(new SilentDispatcher(), stop.Token);

        await Eventually.UntilAsync(() => listener.ProbesSent >= 3, ListenerDeadline, "three probes", PollInterval);
        Assert.True(listener.IsHealthy);

        await stop.CancelAsync();
        await run;
    }

    private static JobNotificationListener Listener(NpgsqlDataSource listenSource, NpgsqlDataSource pool) =>
        new(listenSource, pool, TimeProvider.System, NullLogger<JobNotificationListener>.Instance)
        {
            ProbeAfter = TimeSpan.FromMilliseconds(300),
            ProbeTimeout = TimeSpan.FromMilliseconds(500),
        };

    /// <summary>A dispatcher that ignores wake-ups: these tests are about the listener's own health.</summary>
    private sealed class SilentDispatcher : IDispatcherGrain
    {
        public Task WakeAsync() => Task.CompletedTask;

        public Task JobFinishedAsync(string jobId) => Task.CompletedTask;

        public Task ModelPausedAsync(string model, TimeSpan pause) => Task.CompletedTask;


        public Task CancelJobAsync(string jobId) => Task.CompletedTask;

        public Task ReportFatalAsync(string reason, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task ServiceStoppedAsync(ServiceStop stop) => Task.CompletedTask;

        public Task StopClaimingAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task StopJobsAsync(JobStopReason reason, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task<DispatcherStatus> GetStatusAsync(CancellationToken cancellationToken = default) =>
            Task.FromResult(new DispatcherStatus([], true, null, "test"));

        public GrainId GetGrainId() => default;
    }

    [Fact]
    public void TheListeningConnection_SendsKeepalivesAfter30SecondsOfSilence()
    {
        var settings = new Npgsql.NpgsqlConnectionStringBuilder(
            GenerationWorker.Grains.Dispatch.JobNotificationListener.ListenConnectionString("Host=db;Database=app;Username=u"));

        Assert.False(settings.Pooling);
        Assert.Equal(30, settings.TcpKeepAliveTime);
        Assert.Equal(5, settings.TcpKeepAliveInterval);
    }
}
