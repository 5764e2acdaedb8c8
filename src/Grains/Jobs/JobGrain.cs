using GenerationWorker.Grains.Configuration;
using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Postgres;
using GenerationWorker.Grains.Quota;
using GenerationWorker.Grains.Telemetry;
using GenerationWorker.Interfaces;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GenerationWorker.Grains.Jobs;

/// <summary>
/// Runs one claim of a job on the claiming silo: hands it to the handler of its type, renews its lease while it runs,
/// stops it on a cancel, a lost lease, a drain or its time limit, and writes how it ended, fenced by the lease token.
/// It never knows what a job type does.
/// </summary>
/// <remarks>
/// <para>Every write is fenced by the claim's lease token: once the lease is lost (rescued, cancelled, claimed again)
/// nothing this grain writes lands, and it stops.</para>
/// <para>Each claim's state (its stop signal, its budget accounting) lives in its own <see cref="ClaimRun"/>, so a newer
/// claim of the same job arriving in this activation never mixes with the older one's.</para>
/// </remarks>
[SiloLocalPlacement]
public sealed partial class JobGrain(
    JobStore jobs,
    JobCompletions completions,
    JobHandlers handlers,
    GrainReferences grains,
    WorkerHealth health,
    RetryPolicy retryPolicy,
    SiloBudget budget,
    IOptions<WorkerOptions> workerOptions,
    TimeProvider time,
    WorkerTelemetry telemetry,
    ILogger<JobGrain> logger) : Grain, IJobGrain
{
    private readonly JobStore _jobs = jobs;
    private readonly GrainReferences _grains = grains;
    private readonly TimeProvider _time = time;
    private readonly ILogger<JobGrain> _logger = logger;
    private readonly WorkerOptions _options = workerOptions.Value;
    private readonly SiloBudget _budget = budget;
    private ClaimRun? _current;

    private enum StopCause
    {
        None,
        Cancelled,
        Shutdown,
        LeaseLost,
    }

    /// <inheritdoc />
    public Task StartAsync(JobAssignment assignment, CancellationToken cancellationToken = default)
    {
        // A newer claim of the same job: the old one's lease is gone and its writes are fenced off.
        _current?.Stop(StopCause.LeaseLost);
        var run = new ClaimRun(this, assignment);
        _current = run;
        run.Task = RunAsync(run);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(JobStopReason reason, CancellationToken cancellationToken = default)
    {
        _current?.Stop(reason == JobStopReason.Shutdown ? StopCause.Shutdown : StopCause.Cancelled);
        return Task.CompletedTask;
    }

    private async Task RunAsync(ClaimRun run)
    {
        var job = run.Job;
        using var timeout = new CancellationTokenSource(_options.JobTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(run.StopToken, timeout.Token);
        using var renewal = this.RegisterGrainTimer(
            ct => RenewLeaseAsync(run, ct),
            new GrainTimerCreationOptions(_options.LeaseDuration / 3, _options.LeaseDuration / 3) { KeepAlive = true });
        LogStarted(_logger, job.JobId, job.Attempt, job.MaxAttempts);
        using var activity = telemetry.StartJob(job.JobId, job.Attempt);

        JobEnd end;
        try
        {
            end = handlers.For(job.Type) is { } handler
                ? new JobEnd.Handled(await handler.RunAsync(run, linked.Token))
                : new JobEnd.Handled(new JobResult.Fail(handlers.UnknownType(job.Type)));
        }
        catch (LeaseLostException)
        {
            run.Stop(StopCause.LeaseLost);
            end = new JobEnd.Abandon();
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
            end = run.Cause switch
            {
                StopCause.Shutdown => new JobEnd.Handled(new JobResult.Release("the worker shut down before the job finished", TimeSpan.Zero)),
                StopCause.Cancelled or StopCause.LeaseLost => new JobEnd.Abandon(),
                _ => new JobEnd.Handled(new JobResult.Retry($"timed out after {_options.JobTimeout.TotalSeconds:0} s")),
            };
        }
        catch (Exception exception)
        {
            LogUnexpected(_logger, job.JobId, job.Attempt, exception);
            end = new JobEnd.Handled(new JobResult.Retry($"unexpected error: {exception.GetType().Name}: {exception.Message}"));
        }

        var outcome = end switch
        {
            JobEnd.Handled { Result: JobResult.Complete } => JobOutcome.Completed,
            JobEnd.Handled { Result: JobResult.Fail } => JobOutcome.Failed,
            JobEnd.Handled { Result: JobResult.Retry } => JobOutcome.Retried,
            JobEnd.Abandon => JobOutcome.Cancelled,
            _ => JobOutcome.Released,
        };
        health.JobEnded(outcome);
        telemetry.JobEnded(outcome, run.Elapsed);
        await FinishAsync(run, end, renewal);
    }

    /// <summary>Writes how the claim ended; the lease is renewed until that write is done.</summary>
    private async Task FinishAsync(ClaimRun run, JobEnd end, IDisposable renewal)
    {
        var job = run.Job;

        // The outcome is written even when the run was stopped; the lease fences it if the claim is no longer ours.
        using var writeTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(30), _time);
        var ct = writeTimeout.Token;
        try
        {
            switch (end)
            {
                case JobEnd.Handled { Result: JobResult.Complete complete }:
                    if (await completions.CompleteAsync(
                            new JobCompletion(job.JobId, job.LeaseToken, complete.ResultJson, complete.Last, complete.Assets), ct))
                    {
                        LogCompleted(_logger, job.JobId, job.Attempt, job.MaxAttempts, (long)run.Elapsed.TotalMilliseconds);
                    }

                    break;
                case JobEnd.Handled { Result: JobResult.Fail fail }:
                    LogFailed(_logger, job.JobId, job.Attempt, fail.Error);
                    await _jobs.FailAsync(job.JobId, job.LeaseToken, fail.Error, ct);
                    break;
                case JobEnd.Handled { Result: JobResult.Retry retry }:
                    var status = await _jobs.RetryAsync(
                        job.JobId, job.LeaseToken, retry.Error, retryPolicy.Delay(job.Attempt, retry.ServerDelay), ct);
                    LogRetry(_logger, job.JobId, job.Attempt, status ?? "lost", retry.Error);
                    break;
                case JobEnd.Handled { Result: JobResult.Release release }:
                    await _jobs.ReleaseAsync(job.JobId, job.LeaseToken, null, release.Delay, ct);
                    LogReleased(_logger, job.JobId, job.Attempt, release.Why);
                    break;
                case JobEnd.Handled { Result: JobResult.Snooze snooze }:
                    await _jobs.SnoozeAsync(job.JobId, job.LeaseToken, snooze.Delay, snooze.Progress, ct);
                    LogSnoozed(_logger, job.JobId, snooze.Delay.TotalSeconds, snooze.Progress);
                    break;
                case JobEnd.Handled { Result: JobResult.Throttle throttle }:
                    // With a budget the pause was reported when the 429 came, and claiming waits for it to end.
                    var delay = _budget.Enabled ? TimeSpan.Zero : throttle.Outcome.RetryDelay ?? retryPolicy.Delay(job.Attempt);
                    // Waiting for the budget is not a failure: the attempt is refunded and no error is written (the app
                    // reads an error on a pending row as "retrying"); the reason is in the log and the budget's status.
                    await _jobs.ReleaseAsync(job.JobId, job.LeaseToken, null, delay, ct);
                    LogReleased(_logger, job.JobId, job.Attempt, "Gemini answered 429");
                    break;
                case JobEnd.Handled { Result: JobResult.StopService stopService }:
                    await _grains.Dispatcher(job.DispatcherKey).ReportFatalAsync(stopService.Reason, ct);
                    await _jobs.ReleaseAsync(job.JobId, job.LeaseToken, stopService.Reason, TimeSpan.FromSeconds(60), ct);
                    break;
                case JobEnd.Abandon:
                    LogAbandoned(_logger, job.JobId, job.Attempt);
                    break;
            }
        }
        catch (Exception exception)
        {
            // The row stays processing under this lease; its expiry puts the job back.
            LogFinishFailed(_logger, job.JobId, job.Attempt, exception);
        }

        run.Written = true;
        renewal.Dispose();
        _budget.EndJob(job.JobId);

        // When a newer claim of the job already runs in this activation, its dispatcher must keep counting it in flight
        // and the grain must stay active (the newer claim's lease renewal timer lives here).
        var replaced = !ReferenceEquals(_current, run);
        if (!replaced || _current!.Job.DispatcherKey != job.DispatcherKey)
        {
            try
            {
                await _grains.Dispatcher(job.DispatcherKey).JobFinishedAsync(job.JobId);
            }
            catch (Exception exception)
            {
                LogDispatcherUnreachable(_logger, job.JobId, job.Attempt, exception);
            }
        }

        if (!replaced)
        {
            _current = null;
            DeactivateOnIdle();
        }
    }

    private async Task RenewLeaseAsync(ClaimRun run, CancellationToken cancellationToken)
    {
        if (run.StopToken.IsCancellationRequested || run.Written)
        {
            return;
        }

        try
        {
            if (await _jobs.RenewLeaseAsync(run.Job.JobId, run.Job.LeaseToken, _options.LeaseDuration, cancellationToken))
            {
                run.LeaseConfirmed();
            }
            else
            {
                LogLeaseLost(_logger, run.Job.JobId, run.Job.Attempt);
                run.Stop(StopCause.LeaseLost);
            }
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // The database is unreachable for now; the next renewal tries again before the lease runs out.
            LogRenewFailed(_logger, run.Job.JobId, run.Job.Attempt, exception);
        }
    }

    /// <summary>How a claim's run ended: the handler's result, or stopped from outside with nothing to write.</summary>
    private abstract record JobEnd
    {
        public sealed record Handled(JobResult Result) : JobEnd;

        public sealed record Abandon : JobEnd;
    }

    /// <summary>
    /// One claim of the job: what its handler may do while the claim holds the lease, and the claim's own state (its stop
    /// signal, and how many of its budget reservation's slots it used or gave back).
    /// </summary>
    private sealed class ClaimRun(JobGrain grain, JobAssignment job) : IJobRun
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly long _started = grain._time.GetTimestamp();

        // How recent a confirmation of the lease HoldLeaseAsync relies on without a round trip.
        private static readonly TimeSpan FreshConfirmation = TimeSpan.FromSeconds(1);

        // When the lease was last known held: the claim made it a moment before this run began.
        private long _leaseConfirmed = grain._time.GetTimestamp();

        public JobAssignment Job => job;

        public Task? Task { get; set; }

        public StopCause Cause { get; private set; }

        /// <summary>How the claim ended is written (or could not be): the lease needs no more renewal.</summary>
        public bool Written { get; set; }

        public CancellationToken StopToken => _stop.Token;

        public TimeSpan Elapsed => grain._time.GetElapsedTime(_started);

        public void Stop(StopCause cause)
        {
            if (!_stop.IsCancellationRequested)
            {
                Cause = cause;
                _stop.Cancel();
            }
        }

        public async Task StartedAsync(string model, int progress, CancellationToken cancellationToken) =>
            Fenced(await grain._jobs.StartedAsync(job.JobId, job.LeaseToken, model, progress, cancellationToken));

        public async Task FallbackCalledAsync(string model, CancellationToken cancellationToken) =>
            Fenced(await grain._jobs.FallbackCalledAsync(job.JobId, job.LeaseToken, model, cancellationToken));

        public async Task ProgressAsync(int progress, CancellationToken cancellationToken) =>
            Fenced(await grain._jobs.ProgressAsync(job.JobId, job.LeaseToken, progress, cancellationToken));

        public async Task HoldLeaseAsync(CancellationToken cancellationToken)
        {
            if (grain._time.GetElapsedTime(Volatile.Read(ref _leaseConfirmed)) < FreshConfirmation)
            {
                return;
            }

            Fenced(await grain._jobs.RenewLeaseAsync(job.JobId, job.LeaseToken, grain._options.LeaseDuration, cancellationToken));
            LeaseConfirmed();
        }

        public void LeaseConfirmed() => Volatile.Write(ref _leaseConfirmed, grain._time.GetTimestamp());

        public Task<IReadOnlyList<StoredOutput>> StoredOutputsAsync(CancellationToken cancellationToken) =>
            grain._jobs.OutputsAsync(job.JobId, cancellationToken);

        public async Task RecordOutputAsync(UnrecordedOutput output, int progress, CancellationToken cancellationToken) =>
            Fenced(await grain._jobs.AddOutputAsync(
                job.JobId, job.LeaseToken, output.Output, output.ContentType, output.SizeBytes, progress, cancellationToken));

        public Task NeedRequestsAsync(int requests)
        {
            grain._budget.Trim(job.JobId, requests);
            return Task.CompletedTask;
        }

        public async Task<RequestPermit?> TakeRequestPermitAsync(string model, CancellationToken cancellationToken)
        {
            if (!grain._budget.Enabled)
            {
                return RequestPermit.Unlimited;
            }

            var key = grain._budget.KeyOf(model, job.ClientId);
            return await grain._budget.TakeAsync(job.JobId, key, job.ClientId, job.Interactive, cancellationToken) is { } permit
                ? new RequestPermit(grain._budget, permit)
                : null;
        }

        public Task ReportThrottledAsync(string model, GeminiOutcome.Throttled throttled) =>
            grain._budget.Enabled ? grain._budget.ThrottledAsync(model, throttled.RetryDelay, throttled.PerDay) : Task.CompletedTask;

        private void Fenced(bool applied)
        {
            if (!applied)
            {
                Stop(StopCause.LeaseLost);
                throw new LeaseLostException();
            }
        }
    }
}
