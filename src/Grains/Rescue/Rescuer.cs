using GenerationWorker.Grains.Configuration;
using GenerationWorker.Grains.Cost;
using GenerationWorker.Grains.Postgres;
using GenerationWorker.Grains.Quota;
using GenerationWorker.Grains.Telemetry;
using GenerationWorker.Interfaces;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace GenerationWorker.Grains.Rescue;

/// <summary>
/// Puts back the work that lost its worker, in one loop per silo: every <see cref="Cadence"/> the claims whose lease
/// expired; at once when membership declares a silo dead, that silo's open Gemini cost intents (settled first), its
/// claims, and its leased Gemini permits (the quota grain closes them).
/// </summary>
/// <remarks>
/// <para>Every silo runs it, as every silo ran these rescues before they met here, and none needs to be the only one:
/// each write is idempotent. The job rescues are fenced by the row (<c>status = 'processing'</c> and an expired lease,
/// or <c>locked_by</c> a dead silo), so a second rescue of the same claim finds nothing; the cost settle touches only
/// intents still <c>open</c>; the quota grain closes only leases with permits still open or unpriced.</para>
/// <para>A dead silo's rescue that fails is tried again at the next membership change or the next
/// <see cref="Cadence"/>, whichever comes first; meanwhile lease expiry puts its claims back. The quota grain is told on
/// the first membership snapshot too (the silos already dead when this one starts), and also closes the dead silos'
/// permits itself when it activates: a new activation after the silo that hosted it died does not depend on being told.</para>
/// <para>Owned by <see cref="Dispatch.WorkerLifecycle"/>, which runs it with the worker's other loops once the silo is
/// active and its dispatcher runs here, and stops it after the drain.</para>
/// </remarks>
public sealed partial class Rescuer(
    IClusterMembershipService membership,
    JobStore jobs,
    CostLedger costs,
    GrainReferences grains,
    IOptions<WorkerOptions> options,
    IOptions<QuotaOptions> quotaOptions,
    TimeProvider time,
    WorkerTelemetry telemetry,
    ILogger<Rescuer> logger)
{
    // Dead silos whose jobs were rescued, and whose permits the quota grain closed, by this rescuer.
    private readonly HashSet<SiloAddress> _rescued = [];
    private readonly HashSet<SiloAddress> _quotaTold = [];

    // Silos seen shutting down: they leave through a drain (a deploy), and their claims keep their attempt.
    private readonly HashSet<SiloAddress> _leaving = [];

    /// <summary>How often expired leases are put back: half the lease (<c>JOB_LEASE_SECONDS</c> / 2).</summary>
    public TimeSpan Cadence => options.Value.LeaseDuration / 2;

    /// <summary>
    /// Rescues until <paramref name="cancellationToken"/> is cancelled; wakes <paramref name="dispatcher"/> after a dead
    /// silo's jobs are put back.
    /// </summary>
    public async Task RunAsync(IDispatcherGrain dispatcher, CancellationToken cancellationToken)
    {
        var updates = membership.MembershipUpdates.GetAsyncEnumerator(cancellationToken);
        var update = updates.MoveNextAsync().AsTask();
        try
        {
            var tick = Task.Delay(Cadence, time, cancellationToken);
            ClusterMembershipSnapshot? last = null;
            while (true)
            {
                if (await Task.WhenAny(update, tick) == update)
                {
                    if (!await update)
                    {
                        return;
                    }

                    last = updates.Current;
                    await RescueDeadAsync(last, dispatcher, cancellationToken);
                    update = updates.MoveNextAsync().AsTask();
                }
                else
                {
                    await tick;
                    tick = Task.Delay(Cadence, time, cancellationToken);
                    await RescueExpiredAsync(cancellationToken);
                    if (last is not null)
                    {
                        // A dead silo whose rescue failed is tried again. The last snapshot read, not the current one:
                        // a silo's shutting down, which keeps its claims' attempts, is read before its death.
                        await RescueDeadAsync(last, dispatcher, cancellationToken);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            // An enumerator is disposed once its pending move has ended (it ends cancelled when the token is).
            if (update.IsCompleted || cancellationToken.IsCancellationRequested)
            {
                await Task.WhenAny(update);
                await updates.DisposeAsync();
            }
        }
    }

    /// <summary>Puts back every claim whose lease expired; returns how many.</summary>
    private async Task<int> RescueExpiredAsync(CancellationToken cancellationToken)
    {
        try
        {
            var rescued = await jobs.RescueExpiredAsync(cancellationToken);
            foreach (var job in rescued)
            {
                LogRescued(logger, job.Id, job.Status, "lease expired");
                telemetry.Rescued(job.Status);
            }

            return rescued.Count;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogRescueExpiredFailed(logger, exception);
            return 0;
        }
    }

    /// <summary>Rescues the silos <paramref name="snapshot"/> declares dead that this rescuer has not rescued yet.</summary>
    private async Task RescueDeadAsync(ClusterMembershipSnapshot snapshot, IDispatcherGrain dispatcher, CancellationToken cancellationToken)
    {
        _leaving.UnionWith(snapshot.Members.Values
            .Where(member => member.Status is SiloStatus.ShuttingDown or SiloStatus.Stopping)
            .Select(member => member.SiloAddress));
        var dead = snapshot.Members.Values.Where(member => member.Status == SiloStatus.Dead).Select(member => member.SiloAddress).ToList();
        await CloseDeadPermitsAsync([.. dead.Where(silo => !_quotaTold.Contains(silo))], cancellationToken);
        await RescueDeadJobsAsync([.. dead.Where(_rescued.Add)], dispatcher, cancellationToken);
    }

    /// <summary>
    /// Settles the dead silos' open cost intents, then puts their claims back: their requests still awaiting an answer
    /// may have been billed, priced in full before their jobs go back (a job's next attempt may complete at once, and
    /// its costUsd counts this one).
    /// </summary>
    private async Task RescueDeadJobsAsync(List<SiloAddress> dead, IDispatcherGrain dispatcher, CancellationToken cancellationToken)
    {
        if (dead.Count == 0)
        {
            return;
        }

        try
        {
            foreach (var group in dead.GroupBy(_leaving.Contains))
            {
                var owners = group.Select(SiloIdentity.Of).ToList();
                await costs.SettleOwnersAsync(owners, cancellationToken);
                foreach (var job in await jobs.RescueOwnersAsync(owners, cancellationToken, drained: group.Key))
                {
                    LogRescuedFromDeadSilo(logger, job.Id, job.Status);
                    telemetry.Rescued(job.Status);
                }
            }

            await dispatcher.WakeAsync();
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // Lease expiry rescues them later; forget them so the next snapshot (or tick) tries again.
            LogRescueDeadFailed(logger, exception);
            _rescued.ExceptWith(dead);
        }
    }

    /// <summary>The quota grain counts the dead silos' leased permits as written now and charges their unpriced ones.</summary>
    private async Task CloseDeadPermitsAsync(List<SiloAddress> dead, CancellationToken cancellationToken)
    {
        if (dead.Count == 0 || !quotaOptions.Value.Enabled)
        {
            return;
        }

        try
        {
            await grains.Quota.SiloDiedAsync([.. dead.Select(SiloIdentity.Of)], cancellationToken);
            _quotaTold.UnionWith(dead);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // Tried again at the next snapshot or tick; a leased permit's use-by bounds it meanwhile.
            LogClosePermitsFailed(logger, exception);
        }
    }
}
