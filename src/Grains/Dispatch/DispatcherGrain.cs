using GenerationWorker.Grains.Configuration;
using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Images;
using GenerationWorker.Grains.Postgres;
using GenerationWorker.Grains.Quota;
using GenerationWorker.Grains.Telemetry;
using GenerationWorker.Interfaces;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace GenerationWorker.Grains.Dispatch;

/// <summary>
/// One per silo (key: the silo's address, see <see cref="SiloIdentity"/>): claims jobs for this silo, at most
/// <see cref="WorkerOptions.Concurrency"/> in flight, only as many as the cluster's Gemini budget lets start now, and
/// hands each to a <see cref="IJobGrain"/> activated on this silo. A claim that sends no Gemini request (a video's poll)
/// holds no slot.
/// </summary>
/// <remarks>
/// It wakes on the table's notifications (<see cref="JobNotificationListener"/>), when a job finishes, at the earliest
/// future <c>scheduled_for</c>, when the budget frees a slot, and on a polling timer as a fallback (one
/// <see cref="WakeSchedule"/>). The poll also checks that in-flight jobs are still held (a cancellation whose notification
/// was missed, a claim the <see cref="Rescue.Rescuer"/> put back).
/// </remarks>
[DispatcherPlacement]
public sealed partial class DispatcherGrain(
    JobStore jobs,
    JobNotificationListener notifications,
    GrainReferences grains,
    WorkerHealth health,
    ConfigurationFingerprint configuration,
    ILocalSiloDetails localSilo,
    SiloBudget budget,
    IOptions<WorkerOptions> options,
    IOptions<QuotaOptions> quotaOptions,
    IOptions<GeminiOptions> geminiOptions,
    TimeProvider time,
    WorkerTelemetry telemetry,
    ILogger<DispatcherGrain> logger) : Grain, IDispatcherGrain, IIncomingGrainCallFilter
{
    private readonly WorkerOptions _options = options.Value;
    private readonly QuotaOptions _quota = quotaOptions.Value;
    private readonly GeminiOptions _gemini = geminiOptions.Value;
    private readonly FairShare _fairShare = new(client => quotaOptions.Value.ClientOf(client).Weight);
    private readonly Dictionary<string, IJobGrain> _inFlight = new(StringComparer.Ordinal);

    // Claims that send no Gemini request (a video's poll or download): short, and they hold no slot.
    private readonly HashSet<string> _requestless = new(StringComparer.Ordinal);

    // In flight but no longer held at the last check at the rescue cadence, and told to stop: forgotten at the next.
    private HashSet<string> _unreported = new(StringComparer.Ordinal);
    private bool _claiming = true;
    private bool _offItsSilo;
    private string? _stoppedReason;
    private WakeSchedule _wake = null!;
    private DateTimeOffset _lastLostCheck;
    private string _clientCursor = "";

    // Jobs seen waiting for a model whose pool had no permit, by pool key: left out of the next looks until it has one.
    private readonly Dictionary<PoolKey, OrderedDictionary<string, (FairShareJob Job, DateTimeOffset SeenAt)>> _waitingForPermits = [];

    private string Owner => this.GetPrimaryKeyString();

    private bool QuotaEnabled => budget.Enabled;

    /// <inheritdoc />
    /// <remarks>
    /// A call for another silo's dispatcher can activate it here: that silo was just killed and its activation is gone,
    /// or it has not activated its own yet. Such an activation never claims (its jobs would be locked under another
    /// silo's name, out of reach of the dead-silo rescue) and leaves after each call it answers.
    /// </remarks>
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _wake = new WakeSchedule(
            time, () => this.AsReference<IDispatcherGrain>().WakeAsync(), due => LogWakeScheduled(logger, due.TotalMilliseconds));
        if (Owner != SiloIdentity.Of(localSilo.SiloAddress))
        {
            _offItsSilo = true;
            _claiming = false;
            _stoppedReason = "not on its silo";
            LogNotOnItsSilo(logger, Owner, SiloIdentity.Of(localSilo.SiloAddress));
            return;
        }

        _lastLostCheck = time.GetUtcNow();
        budget.PermitsArrived += OnPermitsArrived;
        this.RegisterGrainTimer(
            TickAsync, new GrainTimerCreationOptions(_options.PollInterval, _options.PollInterval) { KeepAlive = true });
        LogStarted(logger, Owner, _options.Concurrency);
        await LearnServiceStopAsync(cancellationToken);
        await ClaimAsync();
    }

    /// <inheritdoc />
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        budget.PermitsArrived -= OnPermitsArrived;
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        await context.Invoke();
        if (_offItsSilo)
        {
            // Deactivating during the activation itself would bounce the pending call; after it is safe.
            this.DeactivateOnIdle();
        }
    }

    /// <inheritdoc />
    public Task WakeAsync() => ClaimAsync();

    /// <inheritdoc />
    /// <remarks>
    /// Does not claim itself: it queues one wake-up behind the calls already waiting, so that the jobs finishing
    /// together free their slots first and one claim fills them all.
    /// </remarks>
    public Task JobFinishedAsync(string jobId)
    {
        Forget(jobId);
        ReportInFlight();
        if (_claiming)
        {
            _wake.WakeAt(time.GetUtcNow());
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task ModelPausedAsync(string model, TimeSpan pause)
    {
        budget.Paused(model, pause);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task CancelJobAsync(string jobId)
    {
        if (_inFlight.TryGetValue(jobId, out var job))
        {
            await job.StopAsync(JobStopReason.Cancelled);
        }
    }

    /// <inheritdoc />
    public async Task ReportFatalAsync(string reason, CancellationToken cancellationToken = default)
    {
        await RefusedAsync(reason, Owner);

        // Every silo with this configuration would be refused the same way: the cluster stops, not only this silo.
        await grains.ServiceStop.StopAsync(new ServiceStop(reason, Owner, configuration.Value));
    }

    /// <inheritdoc />
    public Task ServiceStoppedAsync(ServiceStop stop) =>
        _offItsSilo || stop.Configuration != configuration.Value ? Task.CompletedTask : RefusedAsync(stop.Reason, stop.ReportedBy);

    /// <inheritdoc />
    public Task StopClaimingAsync(CancellationToken cancellationToken = default)
    {
        _claiming = false;
        _stoppedReason ??= "draining";
        budget.StopClaiming();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopJobsAsync(JobStopReason reason, CancellationToken cancellationToken = default) =>
        Task.WhenAll(_inFlight.Values.Select(job => job.StopAsync(reason, cancellationToken)));

    /// <inheritdoc />
    public Task<DispatcherStatus> GetStatusAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult(new DispatcherStatus(
            [.. _inFlight.Keys], _claiming, _stoppedReason, SiloIdentity.Of(localSilo.SiloAddress), budget.Pooled));

    /// <summary>Stops claiming because the service is refused; jobs in flight go on.</summary>
    private Task RefusedAsync(string reason, string reportedBy)
    {
        if (_stoppedReason is null)
        {
            LogFatal(logger, reason, reportedBy);
        }

        _claiming = false;
        _stoppedReason = reason;
        health.SetFatal(reason);
        budget.StopClaiming();
        return Task.CompletedTask;
    }

    /// <summary>A silo joining a cluster whose service is refused stops before its first claim.</summary>
    private async Task LearnServiceStopAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (await grains.ServiceStop.GetAsync(configuration.Value, cancellationToken) is { } stop)
            {
                await RefusedAsync(stop.Reason, stop.ReportedBy);
            }
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // Claiming goes on; a refused service stops this silo at its first refused request.
            LogServiceStopUnknown(logger, exception);
        }
    }

    private async Task TickAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var forgotten = 0;
        if (now - _lastLostCheck >= _options.LeaseDuration / 2)
        {
            _lastLostCheck = now;
            forgotten = await DropLostJobsAsync(forgetUnreported: true, cancellationToken);
        }
        else if (_inFlight.Count > 0 && !notifications.IsHealthy)
        {
            await DropLostJobsAsync(forgetUnreported: false, cancellationToken);
        }

        // Without notifications every tick polls; while they arrive polling is only a safety net. A wake-up that is
        // due is honoured here too, and so are slots just freed.
        if (forgotten > 0 || !notifications.IsHealthy || now - _wake.LastClaim >= _options.ListenSafetyPollInterval || _wake.IsDue(now))
        {
            await ClaimAsync();
        }
    }

    /// <summary>
    /// Claims round after round while each one claims jobs: free slots -> budget -> claim -> start. A round that claims
    /// nothing asks for the wake-up that may let the next one claim something.
    /// </summary>
    private async Task ClaimAsync()
    {
        _wake.Begin();
        try
        {
            int free;
            while (_claiming && (free = FreeSlots()) > 0 && _wake.ClaimAllowed())
            {
                var claimed = QuotaEnabled ? await ClaimWithinBudgetAsync(free) : await ClaimAnyAsync(free);
                if (!claimed)
                {
                    return;
                }
            }
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // The database is unreachable for now: the next wake or poll tries again.
            LogClaimFailed(logger, exception);
            _wake.WakeAt(time.GetUtcNow() + _options.PollInterval);
        }
    }

    /// <summary>Slots for jobs that send Gemini requests: the claims that send none hold no slot.</summary>
    private int FreeSlots() => _options.Concurrency - (_inFlight.Count - _requestless.Count);

    /// <summary>Without a budget: claims and starts up to <paramref name="free"/> of the next jobs.</summary>
    /// <returns>True when it claimed any.</returns>
    private async Task<bool> ClaimAnyAsync(int free)
    {
        var claimed = await jobs.ClaimAsync(Owner, free, int.MaxValue, _options.LeaseDuration, CancellationToken.None);
        await StartJobsAsync(claimed);
        return await ClaimedAnyAsync(claimed);
    }

    /// <summary>
    /// With a budget: the jobs whose permits this silo's pool holds now (<see cref="HoldBudgetAsync"/>) are claimed and
    /// started.
    /// </summary>
    /// <returns>True when it claimed any.</returns>
    private async Task<bool> ClaimWithinBudgetAsync(int free)
    {
        var held = await HoldBudgetAsync(free);
        if (held.Count == 0)
        {
            return false;
        }

        var claimed = await ClaimHeldAsync(held);
        await StartJobsAsync(claimed, held.ToDictionary(job => job.Id, job => job.Interactive));
        return await ClaimedAnyAsync(claimed);
    }

    /// <summary>
    /// The next jobs of every client, routed to their models; the fair share of each model's permits in this silo's pool
    /// picks which start, and holds their permits; the rest is what the pool must lease.
    /// </summary>
    /// <returns>The jobs whose permits are held; none when none can start now (a wake-up is then asked for).</returns>
    private async Task<List<FairShareJob>> HoldBudgetAsync(int free)
    {
        var (candidates, routed) = await PeekAsync(free);
        if (candidates.Count == 0)
        {
            // Nothing to look at but the jobs left out while they wait for permits: the pool still leases theirs.
            budget.Want(WantedWithWaiting(new FairSharePlan([], NothingWanted), [], free));
            await ScheduleNextScheduledAsync();
            return [];
        }

        var plan = _fairShare.Plan(routed, free, budget.Available);
        budget.Want(WantedWithWaiting(plan, routed, free));
        if (_quota.FailOnSpendCap)
        {
            await FailCappedAsync([.. routed.Except(plan.Chosen), .. _waitingForPermits.Values.SelectMany(w => w.Values.Select(v => v.Job))]);
        }

        var held = plan.Chosen.Where(job => budget.Hold(job.Id, job.Key, job.Cost)).ToList();
        if (held.Count == 0 && await jobs.NextFutureAsync(CancellationToken.None) is { } dueIn)
        {
            // The pool leases what the plan wants and wakes this dispatcher when permits arrive; a job that becomes due
            // meanwhile (a video's next poll needs no permit) wakes it too.
            _wake.WakeAt(time.GetUtcNow() + dueIn);
        }

        return held;
    }

    /// <summary>Claims the jobs whose permits are held; the permits of those another silo claimed first go back to the pool.</summary>
    private async Task<IReadOnlyList<ClaimedJob>> ClaimHeldAsync(List<FairShareJob> held)
    {
        var claimed = await jobs.ClaimIdsAsync(Owner, [.. held.Select(job => job.Id)], _options.LeaseDuration, CancellationToken.None);
        foreach (var lost in held.Where(job => !claimed.Any(c => c.Id == job.Id)))
        {
            budget.EndJob(lost.Id);
        }

        return claimed;
    }

    /// <summary>
    /// False when a round claimed nothing (nothing due, or other silos took it): it asks to look again when the next job
    /// is due, or soon, rather than wait for the safety poll.
    /// </summary>
    private async Task<bool> ClaimedAnyAsync(IReadOnlyList<ClaimedJob> claimed)
    {
        if (claimed.Count > 0)
        {
            return true;
        }

        await ScheduleNextScheduledAsync();
        return false;
    }

    /// <summary>
    /// With <c>SPEND_CAP_ACTION=fail</c>: the waiting jobs whose permits a spend cap refuses fail now, with a message
    /// naming the cap, instead of waiting for its next period.
    /// </summary>
    private async Task FailCappedAsync(IReadOnlyList<FairShareJob> waiting)
    {
        foreach (var group in waiting.GroupBy(job => job.Key))
        {
            if (budget.WaitingReason(group.Key) is { } why && why.StartsWith("spend cap", StringComparison.Ordinal))
            {
                var ids = group.Select(job => job.Id).Distinct(StringComparer.Ordinal).ToList();
                var failed = await jobs.FailPendingAsync(ids, $"Gemini {why} (SPEND_CAP_ACTION=fail)", CancellationToken.None);
                if (_waitingForPermits.TryGetValue(group.Key, out var known))
                {
                    ids.ForEach(id => known.Remove(id));
                }

                LogCapFailed(logger, failed, why);
            }
        }
    }

    /// <summary>Permits arrived in the pool: claim in a turn of this grain's own.</summary>
    private void OnPermitsArrived()
    {
        if (_claiming && !_offItsSilo)
        {
            _ = grains.Dispatcher(Owner).WakeAsync();
        }
    }

    /// <summary>
    /// The next jobs, routed to their models, leaving out those already seen waiting for a model whose pool has no
    /// permit now: a model held by its limit keeps its jobs at the head of the queue, and without this the jobs of models
    /// with permits behind them would not be seen. When that model's permits arrive its jobs are looked at again.
    /// </summary>
    private async Task<(IReadOnlyList<CandidateJob> Candidates, List<FairShareJob> Routed)> PeekAsync(int free)
    {
        // Only the jobs of models without a permit now are left out; those of a model with permits are looked at (the
        // round robin sees every client's), and stay known while they wait.
        var now = time.GetUtcNow();
        var skip = new List<string>();
        foreach (var (key, waiting) in _waitingForPermits)
        {
            foreach (var stale in waiting.Where(w => now - w.Value.SeenAt > WaitingMemory).Select(w => w.Key).ToList())
            {
                waiting.Remove(stale);
            }

            if (budget.Available(key) == 0)
            {
                skip.AddRange(waiting.Keys);
            }
        }

        var candidates = await jobs.PeekCandidatesAsync(free, PerClient, Clients, _clientCursor, skip.Take(MaxSkipped).ToList(), CancellationToken.None);
        TurnClientCursor(candidates);
        return (candidates, [.. candidates.Select(ToFairShareJob)]);
    }

    /// <summary>
    /// What the pool must lease: the plan's wants, and for each model whose jobs are left out of the looks (see
    /// <see cref="PeekAsync"/>) what those jobs need. Remembers the jobs the plan could not start for want of permits,
    /// and forgets those it started.
    /// </summary>
    private Dictionary<PoolKey, (int Requests, bool Interactive)> WantedWithWaiting(FairSharePlan plan, List<FairShareJob> routed, int free)
    {
        var now = time.GetUtcNow();
        foreach (var job in routed.Where(job => job.Cost > 0))
        {
            var waiting = _waitingForPermits.TryGetValue(job.Key, out var known) ? known : _waitingForPermits[job.Key] = new(StringComparer.Ordinal);
            if (plan.Chosen.Contains(job))
            {
                waiting.Remove(job.Id);
            }
            else if (waiting.ContainsKey(job.Id) || waiting.Count < MaxSkipped)
            {
                waiting[job.Id] = (job, now);
            }
        }

        foreach (var key in _waitingForPermits.Where(w => w.Value.Count == 0).Select(w => w.Key).ToList())
        {
            _waitingForPermits.Remove(key);
        }

        var wanted = new Dictionary<PoolKey, (int Requests, bool Interactive)>(plan.Wanted);
        foreach (var (key, waiting) in _waitingForPermits)
        {
            if (!wanted.ContainsKey(key))
            {
                var next = waiting.Values.Select(w => w.Job).Take(Math.Max(free, 1)).ToList();
                wanted[key] = (next.Sum(job => job.Cost), next.Any(job => job.Interactive));
            }
        }

        return wanted;
    }

    private FairShareJob ToFairShareJob(CandidateJob job)
    {
        var model = ModelRoutes.FirstModel(_gemini, job.Type, job.Model, job.Quality, job.ImageModel, job.VideoModel);
        return new FairShareJob(
            job.Id, job.ClientId, job.Priority, budget.KeyOf(model, job.ClientId), job.Cost,
            job.Priority <= _quota.InteractivePriority || job.Type == "image_edit");
    }

    /// <summary>With more clients than one look reads, the next look starts after the last one read.</summary>
    private void TurnClientCursor(IReadOnlyList<CandidateJob> candidates)
    {
        var clients = candidates.Select(c => c.ClientId).Distinct(StringComparer.Ordinal).ToList();
        _clientCursor = clients.Count >= Clients ? clients.Max(StringComparer.Ordinal)! : "";
    }

    /// <summary>How many clients one look reads the next jobs of.</summary>
    private const int Clients = 64;

    /// <summary>The most jobs waiting for permits left out of a look.</summary>
    private const int MaxSkipped = 1000;

    /// <summary>A job left out of the looks while it waits is forgotten after this time (it may have been claimed elsewhere).</summary>
    private static readonly TimeSpan WaitingMemory = TimeSpan.FromSeconds(30);

    /// <summary>How many of each client's next jobs one look reads.</summary>
    private const int PerClient = 4;

    private static readonly Dictionary<PoolKey, (int Requests, bool Interactive)> NothingWanted = [];

    /// <summary>How soon to look again for a pending job that is due but was not claimable a moment ago.</summary>
    private static readonly TimeSpan RecheckDelay = TimeSpan.FromMilliseconds(50);

    /// <summary>How soon a job whose start was rejected (its grain on a dead silo) is claimed again.</summary>
    private static readonly TimeSpan RetryStartDelay = TimeSpan.FromSeconds(1);

    /// <summary>Hands each claimed job to its job grain; the permits the silo's budget holds for it go with it.</summary>
    private async Task StartJobsAsync(IReadOnlyList<ClaimedJob> claimed, IReadOnlyDictionary<string, bool>? interactive = null)
    {
        telemetry.Claimed(claimed.Count);
        var starts = new List<Task>(claimed.Count);
        foreach (var job in claimed)
        {
            var grain = grains.Job(job.Id);
            _inFlight[job.Id] = grain;
            if (job.Cost == 0)
            {
                _requestless.Add(job.Id);
            }
            else
            {
                _requestless.Remove(job.Id);
            }

            starts.Add(StartJobAsync(grain, job, interactive?.GetValueOrDefault(job.Id) ?? false));
        }

        // Handed over together: one at a time, the last of a large claim waited for every activation before it.
        await Task.WhenAll(starts);
        ReportInFlight();
    }

    /// <summary>Hands one claimed job to its grain; a job its grain did not start leaves the in-flight jobs.</summary>
    private async Task StartJobAsync(IJobGrain grain, ClaimedJob job, bool interactive)
    {
        try
        {
            await grain.StartAsync(new JobAssignment(
                job.Id, job.LeaseToken, job.Attempt, job.MaxAttempts, Owner, job.Cost,
                job.ClientId, job.Type, job.PayloadJson, job.Stored, job.FlowId, interactive));
        }
        catch (OrleansMessageRejectionException exception)
        {
            // Never delivered: the job's grain still lives on a silo that just died (a video polled there a moment
            // ago). Give the claim back now rather than after its lease; the next try reaches a live activation.
            LogStartRejected(logger, job.Id, exception);
            Forget(job.Id);
            await GiveBackAsync(job);
        }
        catch (TimeoutException exception)
        {
            // The grain may be running it after all: the row stays processing under this lease, which the grain
            // renews if it runs; otherwise the lease expiry rescues it.
            LogStartFailed(logger, job.Id, exception);
            Forget(job.Id);
        }
        catch (Exception exception)
        {
            // The grain did not start it (its activation or the call failed): the claim goes back now, its attempt
            // refunded, and the next claim waits a moment rather than meet the same failure at once.
            LogStartFailedGivenBack(logger, job.Id, exception);
            Forget(job.Id);
            await GiveBackAsync(job);
        }
    }

    private void ReportInFlight()
    {
        health.SetInFlight(_inFlight.Count);
        telemetry.InFlight(Owner, _inFlight.Count);
    }

    /// <summary>A job leaves the in-flight jobs (and frees its slot, if it held one).</summary>
    private void Forget(string jobId)
    {
        _inFlight.Remove(jobId);
        _requestless.Remove(jobId);
    }

    private async Task GiveBackAsync(ClaimedJob job)
    {
        budget.EndJob(job.Id);
        try
        {
            await jobs.ReleaseAsync(job.Id, job.LeaseToken, null, RetryStartDelay, CancellationToken.None);
            _wake.NotBefore(time.GetUtcNow() + RetryStartDelay);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // The lease expiry rescues it.
            LogReleaseFailed(logger, job.Id, exception);
        }
    }

    private async Task ScheduleNextScheduledAsync()
    {
        if (await jobs.NextScheduledAsync(CancellationToken.None) is { } dueIn)
        {
            // Already due: it became claimable just after the look that found nothing, or other silos hold it.
            _wake.WakeAt(time.GetUtcNow() + (dueIn > RecheckDelay ? dueIn : RecheckDelay));
        }
    }

    /// <summary>
    /// Stops the in-flight jobs whose row this silo no longer holds (cancelled, taken over, rescued, or finished) and
    /// whose grain has not reported finished yet. With <paramref name="forgetUnreported"/> (at the rescue cadence) it
    /// also forgets those already found so at the previous such check: their one-way "finished" was lost, or their grain
    /// no longer runs them, and their slot would stay taken for good.
    /// </summary>
    /// <remarks>
    /// A job that runs holds its row (processing, locked by this silo; a rescuer puts back an expired lease), so its
    /// entry is never forgotten. One forgotten while its grain still winds down had half a lease to stop.
    /// </remarks>
    /// <returns>How many entries it forgot.</returns>
    private async Task<int> DropLostJobsAsync(bool forgetUnreported, CancellationToken cancellationToken)
    {
        if (_inFlight.Count == 0)
        {
            _unreported.Clear();
            return 0;
        }

        if (await StillHeldAsync(cancellationToken) is not { } held)
        {
            return 0;
        }

        var forgotten = 0;
        var toStop = new List<(string Id, IJobGrain Job)>();
        foreach (var (id, job) in _inFlight.Where(j => !held.Contains(j.Key)).ToList())
        {
            if (forgetUnreported && _unreported.Contains(id))
            {
                LogForgotten(logger, id);
                Forget(id);
                forgotten++;
            }
            else
            {
                toStop.Add((id, job));
            }
        }

        if (forgetUnreported)
        {
            _unreported = new HashSet<string>(toStop.Select(j => j.Id), StringComparer.Ordinal);
        }

        if (forgotten > 0)
        {
            ReportInFlight();
        }

        await StopLostAsync(toStop, cancellationToken);
        return forgotten;
    }

    /// <summary>Which in-flight jobs this silo's rows still hold; null when the database could not say.</summary>
    private async Task<IReadOnlySet<string>?> StillHeldAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await jobs.StillHeldAsync(_inFlight.Keys, Owner, cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogDropLostFailed(logger, exception);
            return null;
        }
    }

    private async Task StopLostAsync(List<(string Id, IJobGrain Job)> lost, CancellationToken cancellationToken)
    {
        foreach (var (id, job) in lost)
        {
            try
            {
                await job.StopAsync(JobStopReason.Cancelled, cancellationToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                LogStopFailed(logger, id, exception);
            }
        }
    }
}
