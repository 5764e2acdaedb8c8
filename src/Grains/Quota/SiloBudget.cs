using GenerationWorker.Grains.Configuration;
using GenerationWorker.Grains.Telemetry;
using GenerationWorker.Interfaces;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace GenerationWorker.Grains.Quota;

/// <summary>
/// This silo's one owner of the Gemini budget, and the only caller of the <see cref="IQuotaGrain"/>: it leases blocks
/// of permits for what the dispatcher wants to claim, keeps them in a pool, hands one to a job per Gemini request,
/// reports each use with how long ago its request was written, and gives back what was not used.
/// </summary>
/// <remarks>
/// The dispatcher asks <see cref="Available"/> and moves permits into a job's hold with <see cref="Hold"/> before it
/// claims; a job spends them with <see cref="TakeAsync"/> (a fallback model's permit comes from the pool, or is leased
/// then). Everything is exchanged with the quota grain by one loop, in batches, a few times a second at most.
/// </remarks>
public sealed partial class SiloBudget(
    GrainReferences grains,
    IOptions<QuotaOptions> options,
    ILocalSiloDetails localSilo,
    WorkerHealth health,
    BudgetClock time,
    WorkerTelemetry telemetry,
    ILogger<SiloBudget> logger) : BackgroundService
{
    /// <summary>The shortest time between two exchanges while asks wait (the pacing's grain).</summary>
    private static readonly TimeSpan ExchangeInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>How long used permits wait to be reported when nothing else needs an exchange.</summary>
    private static readonly TimeSpan ReportInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>Pool permits nobody wanted for this long are given back.</summary>
    private static readonly TimeSpan IdleReturn = TimeSpan.FromSeconds(1);

    /// <summary>An ask takes ahead what the silo's jobs wrote of its key in this last time (its next jobs'), at most <see cref="MostAhead"/>.</summary>
    private static readonly TimeSpan AheadWindow = TimeSpan.FromSeconds(1);

    private const int MostAhead = 8;

    private readonly Lock _sync = new();
    private readonly Dictionary<PoolKey, List<Permits>> _pool = [];
    private readonly Dictionary<string, List<Permits>> _holds = new(StringComparer.Ordinal);
    private readonly Dictionary<PoolKey, (int Requests, bool Interactive)> _wanted = [];
    private readonly Dictionary<PoolKey, DateTimeOffset> _lastWanted = [];
    private readonly Dictionary<PoolKey, List<Waiter>> _waiters = [];
    private readonly Dictionary<PoolKey, (DateTimeOffset At, string Why)> _refused = [];
    private readonly Dictionary<string, DateTimeOffset> _paused = new(StringComparer.Ordinal);
    private readonly List<(Guid Lease, string Client, long Stamp)> _used = [];
    private readonly Queue<(long Stamp, PoolKey Key)> _recent = new();
    private readonly List<PermitReturn> _returned = [];
    private readonly List<PermitCost> _priced = [];
    private readonly SemaphoreSlim _signal = new(0);
    private DateTimeOffset _nextAsk = DateTimeOffset.MinValue;

    /// <summary>Raised (outside any lock) when permits arrived that the dispatcher wanted.</summary>
    public event Action? PermitsArrived;

    /// <summary>False when every budget is off: nothing is counted.</summary>
    public bool Enabled => options.Value.Enabled;

    private string Silo => SiloIdentity.Of(localSilo.SiloAddress);

    /// <summary>The key of <paramref name="client"/>'s permits for <paramref name="model"/>: per client only when it has caps.</summary>
    public PoolKey KeyOf(string model, string client) => new(model, options.Value.CountsApart(client) ? client : null);

    /// <summary>Permits in the pool, usable now, not yet given to a job.</summary>
    public int Pooled
    {
        get
        {
            lock (_sync)
            {
                var now = time.GetUtcNow();
                return _pool.Values.Sum(permits => permits.Where(p => p.UsableUntil > now).Sum(p => p.Count));
            }
        }
    }

    /// <summary>Permits of <paramref name="key"/> in the pool, usable now (none while its model is paused).</summary>
    public int Available(PoolKey key)
    {
        lock (_sync)
        {
            var now = time.GetUtcNow();
            return !IsPaused(key.Model, now) && _pool.TryGetValue(key, out var permits) ? permits.Where(p => p.UsableUntil > now).Sum(p => p.Count) : 0;
        }
    }

    /// <summary>Why <paramref name="key"/>'s permits were last refused (a pause, a limit), while it still applies; else null.</summary>
    public string? WaitingReason(PoolKey key)
    {
        lock (_sync)
        {
            var now = time.GetUtcNow();
            return _refused.TryGetValue(key, out var refused) && now - refused.At < TimeSpan.FromSeconds(5) ? refused.Why : null;
        }
    }

    /// <summary>What this silo's jobs wait for now: each model (and capped client) whose permits were refused, and why.</summary>
    public IReadOnlyList<(PoolKey Key, string Why)> Waiting()
    {
        lock (_sync)
        {
            var now = time.GetUtcNow();
            return [.. _refused.Where(r => now - r.Value.At < TimeSpan.FromSeconds(5)).Select(r => (r.Key, r.Value.Why))];
        }
    }

    /// <summary>
    /// Moves up to <paramref name="count"/> permits of <paramref name="key"/> from the pool into <paramref name="jobId"/>'s
    /// hold: the job's first requests; the others take the next permits (<see cref="TakeAsync"/>).
    /// </summary>
    /// <returns>False (and nothing moved) when the pool has none.</returns>
    public bool Hold(string jobId, PoolKey key, int count)
    {
        lock (_sync)
        {
            if (count == 0)
            {
                return true;
            }

            var pooled = Available(key);
            if (pooled == 0)
            {
                return false;
            }

            var now = time.GetUtcNow();
            var permits = _pool[key];
            count = Math.Min(count, pooled);
            var hold = _holds.TryGetValue(jobId, out var held) ? held : _holds[jobId] = [];
            foreach (var lease in permits.Where(p => p.UsableUntil > now).OrderBy(p => p.UsableUntil).ToList())
            {
                var taken = Math.Min(lease.Count, count);
                lease.Count -= taken;
                count -= taken;
                hold.Add(lease with { Count = taken });
                if (count == 0)
                {
                    break;
                }
            }

            permits.RemoveAll(p => p.Count == 0);
            return true;
        }
    }

    /// <summary>The silo stops claiming (draining, or the service refused): nothing more is wanted, the pool goes back.</summary>
    public void StopClaiming()
    {
        lock (_sync)
        {
            _wanted.Clear();
            foreach (var pool in _pool.Values)
            {
                _returned.AddRange(pool.Select(p => new PermitReturn(p.Lease, p.Count)));
                pool.Clear();
            }
        }

        _signal.Release();
    }

    /// <summary>
    /// Replaces what the dispatcher wants beyond the pool (the next jobs' requests per model): the loop leases it.
    /// </summary>
    public void Want(IReadOnlyDictionary<PoolKey, (int Requests, bool Interactive)> wanted)
    {
        lock (_sync)
        {
            var now = time.GetUtcNow();
            if (wanted.Any(w => w.Value.Interactive && !(_wanted.TryGetValue(w.Key, out var before) && before.Interactive)))
            {
                // An interactive job just started to wait: ask at once (the quota grain then holds the reserve for it),
                // not when the backlog's last refusal said to.
                _nextAsk = DateTimeOffset.MinValue;
            }

            _wanted.Clear();
            foreach (var (key, want) in wanted)
            {
                _wanted[key] = want;
                _lastWanted[key] = now;
            }
        }

        _signal.Release();
    }

    /// <summary>
    /// Takes the permit for one request of <paramref name="jobId"/> to <paramref name="key"/>'s model: from the job's
    /// hold, else from the pool, else leased now (waiting for the budget).
    /// </summary>
    /// <returns>The permit, or null when the model is paused by a 429 (the job must go back to the queue).</returns>
    public async Task<Permit?> TakeAsync(string jobId, PoolKey key, string client, bool interactive, CancellationToken cancellationToken)
    {
        Waiter waiter;
        lock (_sync)
        {
            var now = time.GetUtcNow();
            if (IsPaused(key.Model, now))
            {
                return null;
            }

            if (TakeOne(_holds.TryGetValue(jobId, out var hold) ? hold : null, key, now, client) is { } held)
            {
                return held;
            }

            if (_pool.TryGetValue(key, out var pool) && TakeOne(pool, key, now, client) is { } pooled)
            {
                return pooled;
            }

            waiter = new Waiter(interactive, client);
            (_waiters.TryGetValue(key, out var waiting) ? waiting : _waiters[key] = []).Add(waiter);
        }

        _signal.Release();
        await using (cancellationToken.Register(() => waiter.Ticket.TrySetCanceled(cancellationToken)))
        {
            return await waiter.Ticket.Task;
        }
    }

    /// <summary>Records that the request of <paramref name="permit"/> was written to Gemini just now.</summary>
    public void Written(Permit permit)
    {
        lock (_sync)
        {
            var stamp = time.GetTimestamp();
            _used.Add((permit.Lease, permit.Client, stamp));
            _recent.Enqueue((stamp, permit.Key));
            permit.Reported = true;
        }
    }

    /// <summary>What the request of <paramref name="permit"/> cost, once answered (for the spend caps).</summary>
    public void Priced(Permit permit, long micros)
    {
        if (options.Value.SpendCaps.Count == 0)
        {
            return;
        }

        lock (_sync)
        {
            _priced.Add(new PermitCost(permit.Lease, micros));
        }
    }

    /// <summary>A permit taken but whose request was never written (cancelled before it): back to the pool.</summary>
    public void Unused(Permit permit)
    {
        lock (_sync)
        {
            if (!permit.Reported)
            {
                permit.Reported = true;
                Pool(new Permits(permit.Lease, permit.Key, 1, permit.UsableUntil));
            }
        }
    }

    /// <summary>The job needs only <paramref name="requests"/> more: the rest of its hold goes back to the pool.</summary>
    public void Trim(string jobId, int requests)
    {
        lock (_sync)
        {
            if (!_holds.TryGetValue(jobId, out var hold))
            {
                return;
            }

            var extra = hold.Sum(p => p.Count) - requests;
            foreach (var permits in hold.Where(p => p.Count > 0).ToList())
            {
                if (extra <= 0)
                {
                    break;
                }

                var given = Math.Min(extra, permits.Count);
                permits.Count -= given;
                extra -= given;
                Pool(permits with { Count = given });
            }

            hold.RemoveAll(p => p.Count == 0);
        }

        _signal.Release();
    }

    /// <summary>The job ended: what its hold did not use goes back to the pool for the next jobs.</summary>
    public void EndJob(string jobId)
    {
        lock (_sync)
        {
            if (_holds.Remove(jobId, out var hold))
            {
                foreach (var permits in hold.Where(p => p.Count > 0))
                {
                    Pool(permits);
                }
            }
        }

        _signal.Release();
    }

    /// <summary>
    /// Gemini answered 429 for <paramref name="model"/>: the quota grain pauses it for the cluster, and this silo gives
    /// back its pooled permits of that model.
    /// </summary>
    public async Task ThrottledAsync(string model, TimeSpan? retryDelay, bool perDay)
    {
        // A per-day pause lasts until midnight Pacific; this silo asks the quota grain again within a minute.
        var untilMidnight = QuotaClock.NextPacificMidnight(time.GetUtcNow()) - time.GetUtcNow();
        Paused(model, perDay ? (untilMidnight < TimeSpan.FromMinutes(1) ? untilMidnight : TimeSpan.FromMinutes(1)) : retryDelay ?? TimeSpan.FromSeconds(2));
        await grains.Quota.ReportThrottledAsync(model, retryDelay, perDay);
    }

    /// <summary>
    /// <paramref name="model"/> is paused for <paramref name="pause"/> (a 429 here or on another silo): its pooled
    /// permits go back, and jobs waiting for one of its permits go back to the queue.
    /// </summary>
    public void Paused(string model, TimeSpan pause)
    {
        lock (_sync)
        {
            var until = time.GetUtcNow() + pause;
            if (!_paused.TryGetValue(model, out var current) || current < until)
            {
                _paused[model] = until;
            }

            foreach (var (_, pool) in _pool.Where(p => p.Key.Model == model))
            {
                _returned.AddRange(pool.Select(p => new PermitReturn(p.Lease, p.Count)));
                pool.Clear();
            }

            FailWaiters(model);
        }

        ShowPaused();
        _signal.Release();
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            var due = NextExchange();
            try
            {
                await _signal.WaitAsync(due, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            try
            {
                await ExchangeAsync(stoppingToken);
                ShowPaused();
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // The quota grain is moving or unreachable: asks and reports wait for the next exchange.
                LogExchangeFailed(logger, exception);
                _nextAsk = time.GetUtcNow() + TimeSpan.FromSeconds(1);
            }
        }

        // Draining: give back what the pool holds, report what was used.
        try
        {
            lock (_sync)
            {
                foreach (var pool in _pool.Values)
                {
                    _returned.AddRange(pool.Select(p => new PermitReturn(p.Lease, p.Count)));
                    pool.Clear();
                }
            }

            await ExchangeAsync(CancellationToken.None, ask: false);
        }
        catch (Exception exception)
        {
            LogReturnFailed(logger, exception);
        }
    }

    /// <summary>/health and the gauge say "paused" while a model this silo's jobs wait for is paused by a 429.</summary>
    private void ShowPaused()
    {
        bool paused;
        lock (_sync)
        {
            var now = time.GetUtcNow();
            paused = _paused.Values.Any(until => now < until);
        }

        health.SetQuotaPaused(paused);
        telemetry.QuotaPaused(Silo, paused);
    }

    private TimeSpan NextExchange()
    {
        lock (_sync)
        {
            var now = time.GetUtcNow();
            var at = now + ReportInterval;
            if (Asks(now).Count > 0)
            {
                at = _nextAsk > now + ExchangeInterval ? (_nextAsk < at ? _nextAsk : at) : now + ExchangeInterval;
            }

            var due = at - now;
            return due < TimeSpan.Zero ? TimeSpan.Zero : due;
        }
    }

    private async Task ExchangeAsync(CancellationToken cancellationToken, bool ask = true)
    {
        if (TakeReports(ask) is not { } reports)
        {
            return;
        }

        IReadOnlyList<BudgetAnswer> answers;
        try
        {
            answers = await grains.Quota.ExchangeAsync(Silo, reports.Asks, Ages(reports.Written), reports.Returned, reports.Priced, cancellationToken);
        }
        catch
        {
            lock (_sync)
            {
                // Reported with the next exchange.
                _used.AddRange(reports.Written);
                _returned.AddRange(reports.Returned);
                _priced.AddRange(reports.Priced);
            }

            throw;
        }

        if (Apply(answers))
        {
            PermitsArrived?.Invoke();
        }
    }

    /// <summary>What the next exchange asks and reports (taken from the lists), or null when there is nothing.</summary>
    private Reports? TakeReports(bool ask)
    {
        lock (_sync)
        {
            var now = time.GetUtcNow();
            ReturnExpired(now);
            var reports = new Reports(ask && now >= _nextAsk ? Asks(now) : [], [.. _used], [.. _returned], [.. _priced]);
            _used.Clear();
            _returned.Clear();
            _priced.Clear();
            return reports.Asks.Count == 0 && reports.Written.Count == 0 && reports.Returned.Count == 0 && reports.Priced.Count == 0 ? null : reports;
        }
    }

    /// <summary>
    /// Ages, not times: immune to clocks that differ between silos. Measured just before the call, so each is at most the
    /// true age when the grain reads it, and the write time the grain derives is never earlier than the true one. Uses of
    /// a lease within one slice go as one, with the youngest age.
    /// </summary>
    private List<PermitUse> Ages(List<(Guid Lease, string Client, long Stamp)> written) => written
        .GroupBy(u => (u.Lease, u.Client, Slice: time.GetElapsedTime(u.Stamp).Ticks / QuotaBook.Slice.Ticks))
        .Select(g => new PermitUse(g.Key.Lease, g.Key.Client, g.Count(), g.Select(u => time.GetElapsedTime(u.Stamp)).Min()))
        .ToList();

    /// <summary>Pools what was granted and notes what was refused and why; true when the dispatcher should look again.</summary>
    private bool Apply(IReadOnlyList<BudgetAnswer> answers)
    {
        var arrived = false;
        lock (_sync)
        {
            var now = time.GetUtcNow();
            var retry = TimeSpan.MaxValue;
            foreach (var answer in answers)
            {
                var key = new PoolKey(answer.Model, answer.Client);
                if (answer.Granted > 0)
                {
                    arrived = true;
                    Pool(new Permits(answer.LeaseId, key, answer.Granted, now + answer.UseWithin));
                    _refused.Remove(key);
                }

                if (answer.RetryAfter is { } after)
                {
                    retry = after < retry ? after : retry;
                    arrived |= Refused(key, answer, after, now);
                }
            }

            _nextAsk = retry == TimeSpan.MaxValue ? now : now + retry;
        }

        return arrived;
    }

    /// <summary>Notes why <paramref name="key"/>'s permits were refused; true when a spend cap refused jobs that must fail.</summary>
    private bool Refused(PoolKey key, BudgetAnswer answer, TimeSpan after, DateTimeOffset now)
    {
        var why = answer.Waiting ?? "budget";
        if (!_refused.TryGetValue(key, out var before) || before.Why != why)
        {
            // Once per change of reason, not per exchange: "paced" is the budget doing its job under a backlog.
            LogWaiting(logger, key.Model, key.Client ?? "", why);
        }

        _refused[key] = (now, why);
        if (answer.Waiting?.StartsWith("paused", StringComparison.Ordinal) == true)
        {
            _paused[answer.Model] = now + after;
            FailWaiters(answer.Model);
        }

        // The dispatcher fails the jobs a spend cap refuses, when told to (SPEND_CAP_ACTION=fail).
        return options.Value.FailOnSpendCap && why.StartsWith("spend cap", StringComparison.Ordinal);
    }

    private List<BudgetAsk> Asks(DateTimeOffset now)
    {
        while (_recent.TryPeek(out var oldest) && time.GetElapsedTime(oldest.Stamp) > AheadWindow)
        {
            _recent.Dequeue();
        }

        var asks = new List<BudgetAsk>();
        var keys = _wanted.Keys.Concat(_waiters.Where(w => w.Value.Count > 0).Select(w => w.Key)).Distinct();
        foreach (var key in keys)
        {
            if (IsPaused(key.Model, now))
            {
                continue;
            }

            var (requests, interactive) = _wanted.TryGetValue(key, out var want) ? want : (0, false);
            var waiters = _waiters.TryGetValue(key, out var waiting) ? waiting : [];
            var missing = requests + waiters.Count - (_pool.TryGetValue(key, out var pool) ? pool.Where(p => p.UsableUntil > now).Sum(p => p.Count) : 0);
            if (missing > 0)
            {
                // Jobs keep coming for this key: the next ones' permits too, if the budget is idle enough (see BudgetAsk.Ahead).
                var ahead = Math.Min(MostAhead, _recent.Count(r => r.Key == key));
                asks.Add(new BudgetAsk(key.Model, key.Client, missing, interactive || waiters.Any(w => w.Interactive), ahead));
            }
        }

        return asks;
    }

    private void ReturnExpired(DateTimeOffset now)
    {
        foreach (var (key, pool) in _pool)
        {
            var idle = !_wanted.ContainsKey(key) && (!_waiters.TryGetValue(key, out var waiting) || waiting.Count == 0)
                && (!_lastWanted.TryGetValue(key, out var last) || now - last > IdleReturn);

            // Expired permits go back, and idle ones.
            foreach (var permits in pool.Where(p => idle || p.UsableUntil <= now).ToList())
            {
                _returned.Add(new PermitReturn(permits.Lease, permits.Count));
                pool.Remove(permits);
            }
        }
    }

    /// <summary>
    /// Permits granted, or that a job did not use, go first to requests already waiting for one (the variants of a job
    /// started on part of its permits), then to the pool; back to the quota grain while their model is paused.
    /// </summary>
    private void Pool(Permits permits)
    {
        var now = time.GetUtcNow();
        if (IsPaused(permits.Key.Model, now))
        {
            _returned.Add(new PermitReturn(permits.Lease, permits.Count));
            return;
        }

        (_pool.TryGetValue(permits.Key, out var pool) ? pool : _pool[permits.Key] = []).Add(permits);
        ServeWaiters(now);
    }

    private void ServeWaiters(DateTimeOffset now)
    {
        foreach (var (key, waiting) in _waiters)
        {
            waiting.RemoveAll(w => w.Ticket.Task.IsCompleted);
            while (waiting.Count > 0 && _pool.TryGetValue(key, out var pool) && TakeOne(pool, key, now, waiting[0].Client) is { } permit)
            {
                waiting[0].Ticket.TrySetResult(permit);
                waiting.RemoveAt(0);
            }
        }
    }

    private void FailWaiters(string model)
    {
        foreach (var (key, waiting) in _waiters.Where(w => w.Key.Model == model))
        {
            foreach (var waiter in waiting)
            {
                waiter.Ticket.TrySetResult(null);
            }

            waiting.Clear();
        }
    }

    private bool IsPaused(string model, DateTimeOffset now) => _paused.TryGetValue(model, out var until) && now < until;

    private static Permit? TakeOne(List<Permits>? permits, PoolKey key, DateTimeOffset now, string client)
    {
        if (permits?.FirstOrDefault(p => p.Key == key && p.Count > 0 && p.UsableUntil > now) is not { } lease)
        {
            return null;
        }

        lease.Count--;
        if (lease.Count == 0)
        {
            permits.Remove(lease);
        }

        return new Permit(lease.Lease, key, client, lease.UsableUntil);
    }

    /// <summary>One exchange's asks and reports.</summary>
    private sealed record Reports(
        List<BudgetAsk> Asks, List<(Guid Lease, string Client, long Stamp)> Written, List<PermitReturn> Returned, List<PermitCost> Priced);

    /// <summary>Permits of one lease, usable until a time.</summary>
    private sealed record Permits(Guid Lease, PoolKey Key, int Count, DateTimeOffset UsableUntil)
    {
        public int Count { get; set; } = Count;
    }

    private sealed class Waiter(bool interactive, string client)
    {
        public bool Interactive => interactive;

        public string Client => client;

        public TaskCompletionSource<Permit?> Ticket { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>Which permits: a model's, and a capped client's own (null for every uncapped client).</summary>
public readonly record struct PoolKey(string Model, string? Client);

/// <summary>The permit of one Gemini request.</summary>
public sealed class Permit(Guid lease, PoolKey key, string client, DateTimeOffset usableUntil)
{
    /// <summary>The lease it belongs to.</summary>
    public Guid Lease => lease;

    /// <summary>Its model (and capped client).</summary>
    public PoolKey Key => key;

    /// <summary>The job's client.</summary>
    public string Client => client;

    /// <summary>When it may no longer be used.</summary>
    public DateTimeOffset UsableUntil => usableUntil;

    /// <summary>Its use (or non-use) is recorded.</summary>
    internal bool Reported { get; set; }
}
