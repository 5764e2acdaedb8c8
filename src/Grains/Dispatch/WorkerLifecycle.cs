using GenerationWorker.Grains.Configuration;
using GenerationWorker.Grains.Rescue;
using GenerationWorker.Grains.Storage;
using GenerationWorker.Grains.Telemetry;
using GenerationWorker.Interfaces;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace GenerationWorker.Grains.Dispatch;

/// <summary>
/// Starts this silo's worker once the silo is active (the dispatcher, the notification listener, the
/// <see cref="Rescuer"/>) and, on shutdown, drains it before the silo leaves the cluster.
/// </summary>
/// <remarks>
/// Draining (SIGTERM): stop claiming, let in-flight jobs finish for up to <c>SHUTDOWN_TIMEOUT_SECONDS</c>, then give
/// the rest back to pending without spending their attempt. <c>/health</c> answers 503 draining meanwhile.
/// The drain starts when the host starts stopping (<see cref="IHostedLifecycleService.StoppingAsync"/>), before any
/// hosted service stops: the web server stops before the silo does, so a drain that waited for the silo's own stop
/// would run with <c>/health</c> already unreachable.
/// </remarks>
public sealed partial class WorkerLifecycle(
    IGrainFactory grains,
    ILocalSiloDetails silo,
    JobNotificationListener listener,
    Rescuer rescuer,
    WorkerHealth health,
    JobSummaryLog summary,
    IOptions<WorkerOptions> options,
    IImageStore store,
    TimeProvider time,
    ILogger<WorkerLifecycle> logger) : ILifecycleParticipant<ISiloLifecycle>, IHostedLifecycleService
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _loops = [];
    private readonly Lock _drainLock = new();
    private volatile bool _started;
    private Task? _drain;

    private string Owner => SiloIdentity.Of(silo.SiloAddress);

    private IDispatcherGrain Dispatcher => grains.GetGrain<IDispatcherGrain>(Owner);

    /// <inheritdoc />
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(WorkerLifecycle), ServiceLifecycleStage.Active, StartAsync, StopAsync);

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        if (health.StoreUnreachable is not null)
        {
            // The start-up probe found no store: claim nothing until it answers, the silo serving /health meanwhile.
            Track(Task.Run(() => StartWhenStoreAnswersAsync(_stopping.Token), CancellationToken.None));
            return;
        }

        await ActivateAsync(cancellationToken);
    }

    private async Task StartWhenStoreAnswersAsync(CancellationToken cancellationToken)
    {
        var wait = TimeSpan.FromSeconds(1);
        try
        {
            while (await ImageStoreProbe.ProbeAsync(store, TimeSpan.FromSeconds(15), cancellationToken) is { } failure)
            {
                health.SetStoreUnreachable($"image store unreachable ({failure.Failure})");
                LogStoreStillUnreachable(logger, failure.Failure, wait.TotalSeconds);
                await Task.Delay(wait, time, cancellationToken);
                wait = TimeSpan.FromSeconds(Math.Min(wait.TotalSeconds * 2, 30));
            }

            health.SetStoreUnreachable(null);
            LogStoreAnswers(logger);
            await ActivateAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task ActivateAsync(CancellationToken cancellationToken)
    {
        // Another silo's call may have activated this silo's dispatcher over there first; that activation claims
        // nothing and leaves after the call, so ask again until the dispatcher runs here.
        var deadline = time.GetUtcNow() + TimeSpan.FromSeconds(30);
        while ((await Dispatcher.GetStatusAsync(cancellationToken)).RunsOn != Owner)
        {
            if (time.GetUtcNow() > deadline)
            {
                throw new InvalidOperationException($"The dispatcher of {Owner} does not activate on its own silo.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), time, cancellationToken);
        }

        health.SetRunning();
        if (options.Value.ListenEnabled)
        {
            Track(Task.Run(() => listener.RunAsync(Dispatcher, _stopping.Token), CancellationToken.None));
        }

        Track(Task.Run(() => rescuer.RunAsync(Dispatcher, _stopping.Token), CancellationToken.None));
        Track(Task.Run(() => summary.RunAsync(_stopping.Token), CancellationToken.None));
        _started = true;
    }

    private void Track(Task loop)
    {
        lock (_loops)
        {
            _loops.Add(loop);
        }
    }

    /// <inheritdoc />
    Task IHostedLifecycleService.StoppingAsync(CancellationToken cancellationToken) => DrainOnceAsync(cancellationToken);

    /// <inheritdoc />
    Task IHostedLifecycleService.StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    Task IHostedLifecycleService.StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    Task IHostedLifecycleService.StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    Task IHostedService.StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    Task IHostedService.StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await DrainOnceAsync(cancellationToken);
        }
        finally
        {
            await _stopping.CancelAsync();
            Task[] loops;
            lock (_loops)
            {
                loops = [.. _loops];
            }

            await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    /// <summary>Drains once, whichever comes first: the host stopping or the silo stopping.</summary>
    private Task DrainOnceAsync(CancellationToken cancellationToken)
    {
        lock (_drainLock)
        {
            return _drain ??= _started ? DrainAsync(cancellationToken) : Task.CompletedTask;
        }
    }

    private async Task DrainAsync(CancellationToken cancellationToken)
    {
        health.SetDraining();
        var dispatcher = Dispatcher;
        try
        {
            await dispatcher.StopClaimingAsync(cancellationToken);
            var deadline = time.GetUtcNow() + options.Value.ShutdownTimeout;
            var inFlight = (await dispatcher.GetStatusAsync(cancellationToken)).InFlight.Count;
            LogDraining(logger, inFlight, options.Value.ShutdownTimeout.TotalSeconds);
            while (inFlight > 0 && time.GetUtcNow() < deadline && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), time, cancellationToken);
                inFlight = (await dispatcher.GetStatusAsync(cancellationToken)).InFlight.Count;
            }

            if (inFlight > 0)
            {
                LogGivingBack(logger, inFlight);
                await dispatcher.StopJobsAsync(JobStopReason.Shutdown, cancellationToken);
                var giveBackDeadline = time.GetUtcNow() + TimeSpan.FromSeconds(10);
                while (inFlight > 0 && time.GetUtcNow() < giveBackDeadline && !cancellationToken.IsCancellationRequested)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), time, cancellationToken);
                    inFlight = (await dispatcher.GetStatusAsync(cancellationToken)).InFlight.Count;
                }
            }
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogDrainFailed(logger, exception);
        }
    }
}
