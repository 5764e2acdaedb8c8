using GenerationWorker.Interfaces;

namespace GenerationWorker.Grains.Quota;

/// <summary>
/// The budgets' accounting, without Orleans: which permits are leased, when used ones were written, each day's use, the
/// pauses, and the pacing. <see cref="QuotaGrain"/> persists its <see cref="BudgetState"/>.
/// </summary>
/// <remarks>
/// <para>The invariant: in any window W of a limit, Gemini receives at most N requests of its ledger. A permit holds a
/// slot of each window limit from its grant until W plus the margin after its request was written (or at once when it
/// is given back unused). The silo reports how long ago each request was written, measured after the body left for the
/// connection: time spent before the write (a busy CPU, a slow start) only delays the report, never the accounting, and
/// a duration is immune to clocks that differ between silos. So every request that reaches Gemini within a window still
/// holds its slot at that window's end, and at most N slots are ever held.</para>
/// <para>Pacing: a model's window limits also fill a token bucket at N/W per second holding at most the burst
/// (<see cref="QuotaOptions.BurstPercent"/> of N), so a backlog is spread through the window instead of spent at its
/// start. A per-day limit releases its N evenly through the Pacific day (plus the burst); what a quiet morning did not
/// use stays available later the same day.</para>
/// </remarks>
/// <para>Spend caps (<see cref="QuotaOptions.SpendCaps"/>): each permit reserves its model's dearest request price
/// against every cap that covers it, until the silo reports what its request cost; a grant never lets what was charged
/// plus what is reserved pass a cap, so a cap is passed only by what requests cost beyond their reservation.</para>
public sealed class QuotaBook(BudgetState state, QuotaOptions options, Func<string, long>? priceOf = null)
{
    /// <summary>Written times are rounded up to this slice, which keeps the state small at any rate.</summary>
    public static readonly TimeSpan Slice = TimeSpan.FromMilliseconds(50);

    /// <summary>How long after receipt a silo may use a lease's permits (it gives back the rest).</summary>
    public static readonly TimeSpan UseWithin = TimeSpan.FromSeconds(10);

    /// <summary>When the grain considers a lease's permits no longer usable: twice <see cref="UseWithin"/> after the grant.</summary>
    public static readonly TimeSpan LeaseHold = UseWithin * 2;

    /// <summary>The longest a request's body may take to be written once it started (a large input image, a slow link).</summary>
    public static readonly TimeSpan WriteBound = TimeSpan.FromSeconds(30);

    /// <summary>An interactive job that asked within this time still waits for the reserve.</summary>
    private static readonly TimeSpan DemandMemory = TimeSpan.FromSeconds(2);

    /// <summary>How long after its use-by a lease's unpriced permits are charged at their reserved price.</summary>
    private static readonly TimeSpan PriceBound = TimeSpan.FromMinutes(15);

    /// <summary>How soon a silo asks again when the limit cannot say when a slot frees (permits leased, not yet used).</summary>
    private static readonly TimeSpan AskAgain = TimeSpan.FromMilliseconds(100);

    private readonly Dictionary<string, TokenBucket> _buckets = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _interactiveAsked = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _wentWithout = new(StringComparer.Ordinal);
    private readonly Queue<(DateTimeOffset At, string Client, int Count)> _recentUses = new();

    /// <summary>The persisted state.</summary>
    public BudgetState State => state;

    /// <summary>The ledger of a model's limits.</summary>
    public static string ModelLedger(string model) => "m:" + model;

    /// <summary>The ledger of a capped client's limits.</summary>
    public static string ClientLedger(string client) => "c:" + client;

    /// <summary>Records uses and returns, then answers each ask (interactive ones first).</summary>
    /// <returns>The answers, in the asks' order, and whether anything was granted (the state must be persisted first).</returns>
    public (IReadOnlyList<BudgetAnswer> Answers, bool Granted) Exchange(
        DateTimeOffset now, string silo, IReadOnlyList<BudgetAsk> asks, IReadOnlyList<PermitUse> used, IReadOnlyList<PermitReturn> returned,
        IReadOnlyList<PermitCost>? priced = null)
    {
        foreach (var use in used)
        {
            Use(now, use);
        }

        foreach (var cost in priced ?? [])
        {
            if (state.Leases.Find(l => l.Id == cost.Lease) is { Unpriced: > 0 } lease)
            {
                lease.Unpriced--;
                Charge(lease, now, cost.Micros);
            }
        }

        foreach (var give in returned)
        {
            Return(now, give);
        }

        Prune(now);
        foreach (var ask in asks.Where(a => a.Interactive))
        {
            _interactiveAsked[ask.Model] = now;
        }

        var answers = new BudgetAnswer[asks.Count];
        var granted = false;
        foreach (var index in Enumerable.Range(0, asks.Count).OrderBy(i => asks[i].Interactive ? 0 : 1))
        {
            answers[index] = Grant(now, silo, asks[index]);
            granted |= answers[index].Granted > 0;
        }

        return (answers, granted);
    }

    /// <summary>Pauses <paramref name="model"/> after a 429.</summary>
    /// <returns>The pause's end, or null when an existing pause already lasts longer.</returns>
    public DateTimeOffset? Pause(DateTimeOffset now, string model, TimeSpan? retryDelay, bool perDay)
    {
        var pause = state.Pauses.Find(p => p.Model == model);
        var consecutive = pause is null || pause.Until < now - TimeSpan.FromMinutes(5) ? 0 : pause.Consecutive;
        var until = perDay
            ? QuotaClock.NextPacificMidnight(now)
            : now + (retryDelay ?? TimeSpan.FromSeconds(Math.Min(60, 2 << Math.Min(consecutive, 5))));
        if (pause is not null && pause.Until >= until)
        {
            return null;
        }

        if (pause is null)
        {
            pause = new ModelPause { Model = model };
            state.Pauses.Add(pause);
        }

        pause.Until = until;
        pause.PerDay = perDay;
        pause.Consecutive = retryDelay is null ? consecutive + 1 : consecutive;

        // A paused model's bucket starts empty again: the end of the pause is paced like the start of a window.
        _buckets.Remove(model);
        return until;
    }

    /// <summary>
    /// A dead silo sends nothing more: its leases' open permits count as written now (the last moment they could have
    /// been) and close.
    /// </summary>
    /// <returns>True when something changed.</returns>
    public bool SiloDied(DateTimeOffset now, string silo)
    {
        var changed = false;
        foreach (var lease in state.Leases.Where(l => l.Silo == silo && (l.Open > 0 || l.Unpriced > 0)))
        {
            if (lease.Open > 0)
            {
                AddWritten(lease, now, lease.Open);
            }

            // Whether its requests were answered is unknown: each is charged its reserved price (possibly billed).
            Charge(lease, now, lease.Unpriced * lease.PriceEach);
            (lease.Open, lease.Unpriced) = (0, 0);
            changed = true;
        }

        return changed;
    }

    /// <summary>Every model's limits and use now, and the clients' shares of the recent uses.</summary>
    public BudgetStatus Status(DateTimeOffset now, IEnumerable<string> knownModels)
    {
        Prune(now);
        var models = knownModels.Concat(options.ModelBudgets.Keys).Concat(state.Leases.Select(l => l.Model))
            .Concat(state.Pauses.Select(p => p.Model)).Concat(state.Written.Where(w => w.Ledger.StartsWith("m:", StringComparison.Ordinal)).Select(w => w.Ledger[2..]))
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        var rows = new List<ModelBudget>();
        foreach (var model in models)
        {
            var ledger = ModelLedger(model);
            var limits = options.LimitsOf(model).Select(limit => new LimitUse(
                limit.ToString(), limit.Requests, limit.Window, Used(ledger, limit, now), Allowed(limit, now))).ToList();
            var pause = PauseOf(model, now);
            rows.Add(new ModelBudget(
                model, limits, pause?.Until,
                pause is null ? null : pause.PerDay ? "Gemini answered 429 for a per-day quota (until midnight Pacific)" : "Gemini answered 429",
                state.Leases.Where(l => l.Model == model).Sum(l => l.Open)));
        }

        var total = _recentUses.Sum(u => u.Count);
        var clients = _recentUses.GroupBy(u => u.Client, StringComparer.Ordinal)
            .Select(g => new ClientShare(g.Key, g.Sum(u => u.Count), total == 0 ? 0 : (double)g.Sum(u => u.Count) / total))
            .OrderByDescending(c => c.Requests).Take(20).ToList();
        return new BudgetStatus(rows, clients, CapUses(now));
    }

    /// <summary>Each cap's period: the global ones, a named client's, and for a cap of each client every client that spent.</summary>
    private List<CapUse> CapUses(DateTimeOffset now)
    {
        var uses = new List<CapUse>();
        foreach (var cap in options.SpendCaps)
        {
            var period = cap.Period(now);
            var clients = cap.Scope switch
            {
                SpendScope.Global => [""],
                SpendScope.Client => [cap.Client!],
                _ => state.Spend.Where(s => s.Period == period && s.Ledger.StartsWith("$c:", StringComparison.Ordinal)).Select(s => s.Ledger[3..])
                    .Concat(state.Leases.Where(l => l.Client is not null && l.Unpriced > 0).Select(l => l.Client!)).Distinct(StringComparer.Ordinal).ToList(),
            };
            foreach (var client in clients)
            {
                var ledger = cap.Ledger(client);
                uses.Add(new CapUse(
                    cap.Scope == SpendScope.EachClient ? $"{cap} ({client})" : cap.ToString(), cap.Micros, Spent(ledger, period), Reserved(ledger), period));
            }
        }

        return uses;
    }

    /// <summary>Permits of <paramref name="model"/>'s ledger taken now, under its first window limit (for gauges).</summary>
    public int Occupied(string model, DateTimeOffset now) =>
        options.LimitsOf(model).FirstOrDefault(l => !l.PerDay) is { } limit ? Used(ModelLedger(model), limit, now) : 0;

    private BudgetAnswer Grant(DateTimeOffset now, string silo, BudgetAsk ask)
    {
        if (PauseOf(ask.Model, now) is { } pause)
        {
            return Refused(ask, pause.Until - now, pause.PerDay ? "paused: Gemini's per-day quota is exhausted until midnight Pacific" : "paused: Gemini answered 429");
        }

        var reserveHeld = !ask.Interactive && _interactiveAsked.TryGetValue(ask.Model, out var asked) && now - asked < DemandMemory;
        var (room, retryAfter, why) = Room(ModelLedger(ask.Model), options.LimitsOf(ask.Model), now, reserveHeld);
        if (ask.Client is { } client && options.ClientOf(client).Caps is { Count: > 0 } caps)
        {
            var (clientRoom, clientRetry, clientWhy) = Room(ClientLedger(client), caps, now, reserve: false);
            if (clientRoom < room)
            {
                (room, retryAfter, why) = (clientRoom, clientRetry, $"client {client}'s cap {clientWhy}");
            }
        }

        var price = options.SpendCaps.Count > 0 ? priceOf?.Invoke(ask.Model) ?? 0 : 0;
        if (price > 0)
        {
            // Uncounted clients (ask.Client null) have no cap of their own: only the global caps cover them.
            var payer = ask.Client ?? "";
            foreach (var cap in options.SpendCaps.Where(c => c.Scope == SpendScope.Global || (ask.Client is not null && c.Covers(payer))))
            {
                var ledger = cap.Ledger(payer);
                var left = cap.Micros - Spent(ledger, cap.Period(now)) - Reserved(ledger);
                var affordable = (int)Math.Clamp(left / price, 0, int.MaxValue);
                if (affordable < room)
                {
                    (room, retryAfter, why) = (affordable, Min(cap.PeriodEnd(now) - now, TimeSpan.FromSeconds(2)), $"spend cap {cap} reached");
                }
            }
        }

        var bucket = Bucket(ask.Model, now);
        if (!ask.Interactive && bucket is not null && (int)bucket.Tokens < room)
        {
            room = (int)bucket.Tokens;
            retryAfter = bucket.TimeFor(Math.Min(ask.Requests, bucket.Capacity));
            why = "paced";
        }

        var granted = Math.Clamp(Math.Min(ask.Requests, room), 0, ask.Requests);
        if (granted < ask.Requests)
        {
            _wentWithout[ask.Model] = now;
        }
        else if (ask.Ahead > 0 && price == 0 && !reserveHeld)
        {
            granted += Ahead(ask, now, Math.Min(room, bucket is null ? int.MaxValue : (int)bucket.Tokens) - granted);
        }
        if (granted == 0)
        {
            return Refused(ask, retryAfter, why);
        }

        bucket?.Take(granted);
        var lease = new LeaseRecord
        {
            Id = Guid.NewGuid(), Silo = silo, Model = ask.Model, Client = CappedClient(ask.Client), Open = granted,
            GrantedAt = now, UseBy = now + LeaseHold, PriceEach = price, Unpriced = price > 0 ? granted : 0,
        };
        state.Leases.Add(lease);
        foreach (var ledger in Ledgers(lease))
        {
            DayOf(ledger, now).Used += granted;
        }

        return new BudgetAnswer(
            ask.Model, ask.Client, lease.Id, granted, UseWithin, granted < ask.Requests ? retryAfter : null, granted < ask.Requests ? why : null);
    }

    /// <summary>
    /// Permits granted beyond an ask's requests for the silo's next jobs: only from the half of each window limit nobody
    /// uses (a per-day limit's paced room is left alone), and none while an ask of the model recently went without.
    /// </summary>
    private int Ahead(BudgetAsk ask, DateTimeOffset now, int room)
    {
        if (_wentWithout.TryGetValue(ask.Model, out var at) && now - at < DemandMemory)
        {
            return 0;
        }

        var ledger = ModelLedger(ask.Model);
        var idleHalf = options.LimitsOf(ask.Model).Where(l => !l.PerDay)
            .Select(l => (l.Requests / 2) - Used(ledger, l, now) - ask.Requests).DefaultIfEmpty(0).Min();
        return Math.Clamp(Math.Min(ask.Ahead, Math.Min(room, idleHalf)), 0, ask.Ahead);
    }

    /// <summary>How many permits every limit of a ledger has room for now; when none, how soon and why.</summary>
    private (int Room, TimeSpan RetryAfter, string Why) Room(string ledger, IReadOnlyList<BudgetLimit> limits, DateTimeOffset now, bool reserve)
    {
        var room = int.MaxValue;
        var retryAfter = AskAgain;
        var why = "";
        foreach (var limit in limits)
        {
            var held = reserve ? (int)Math.Ceiling(limit.Requests * options.InteractiveReservePercent / 100.0) : 0;
            var free = Allowed(limit, now) - held - Used(ledger, limit, now);
            if (free < room)
            {
                room = Math.Max(free, 0);
                why = $"{limit} reached" + (held > 0 ? " (its interactive reserve held)" : "");
                retryAfter = limit.Window is { } window ? NextFree(ledger, window, now) : TimeSpan.FromSeconds(Math.Max(1, 86_400.0 / limit.Requests));
            }
        }

        return (room, retryAfter, why);
    }

    private int Allowed(BudgetLimit limit, DateTimeOffset now)
    {
        if (!limit.PerDay)
        {
            return limit.Requests;
        }

        // The day's requests are released evenly through the Pacific day, plus the burst at any time.
        var paced = limit.Requests * QuotaClock.PacificDayElapsed(now) + Burst(limit.Requests);
        return (int)Math.Min(limit.Requests, Math.Ceiling(paced));
    }

    private int Used(string ledger, BudgetLimit limit, DateTimeOffset now)
    {
        if (limit.Window is not { } window)
        {
            var today = QuotaClock.PacificDay(now);
            return state.Days.Find(d => d.Ledger == ledger && d.Day == today)?.Used ?? 0;
        }

        var open = state.Leases.Where(l => l.Open > 0 && Ledgers(l).Contains(ledger)).Sum(l => l.Open);
        var cutoff = now - window - options.SafetyMargin;
        return open + state.Written.Where(w => w.Ledger == ledger && w.At > cutoff).Sum(w => w.Count);
    }

    private TimeSpan NextFree(string ledger, TimeSpan window, DateTimeOffset now)
    {
        var cutoff = now - window - options.SafetyMargin;
        var oldest = state.Written.Where(w => w.Ledger == ledger && w.At > cutoff).Select(w => w.At).DefaultIfEmpty(DateTimeOffset.MaxValue).Min();
        return oldest == DateTimeOffset.MaxValue ? AskAgain : oldest - cutoff;
    }

    private void Use(DateTimeOffset now, PermitUse use)
    {
        var lease = state.Leases.Find(l => l.Id == use.Lease);
        var count = Math.Min(use.Count, lease?.Open ?? 0);
        if (lease is null || count <= 0)
        {
            // A lease already closed (expired or its silo declared dead): its permits were counted then.
            return;
        }

        lease.Open -= count;
        AddWritten(lease, now - use.Age, count);
        _recentUses.Enqueue((now, use.Client, count));
    }

    private void Return(DateTimeOffset now, PermitReturn give)
    {
        var lease = state.Leases.Find(l => l.Id == give.Lease);
        var count = Math.Min(give.Count, lease?.Open ?? 0);
        if (lease is null || count <= 0)
        {
            return;
        }

        lease.Open -= count;
        lease.Unpriced = Math.Max(0, lease.Unpriced - count);
        if (QuotaClock.PacificDay(lease.GrantedAt) == QuotaClock.PacificDay(now))
        {
            foreach (var ledger in Ledgers(lease))
            {
                DayOf(ledger, now).Used -= count;
            }
        }

        // Unused permits never reached Gemini: given back into the bucket too.
        Bucket(lease.Model, now)?.Give(count);
    }

    private void AddWritten(LeaseRecord lease, DateTimeOffset writtenAt, int count)
    {
        var at = new DateTimeOffset((writtenAt.UtcTicks + Slice.Ticks - 1) / Slice.Ticks * Slice.Ticks, TimeSpan.Zero);
        foreach (var ledger in Ledgers(lease))
        {
            if (state.Written.Find(w => w.Ledger == ledger && w.At == at) is { } slice)
            {
                slice.Count += count;
            }
            else
            {
                state.Written.Add(new WrittenSlice { Ledger = ledger, At = at, Count = count });
            }
        }
    }

    private void Prune(DateTimeOffset now)
    {
        // Leases past their use whose permits were never reported: written at the latest moment they could have been.
        foreach (var lease in state.Leases.Where(l => l.Open > 0 && now > l.UseBy + WriteBound))
        {
            AddWritten(lease, lease.UseBy + WriteBound, lease.Open);
            lease.Open = 0;
        }

        foreach (var lease in state.Leases.Where(l => l.Unpriced > 0 && now > l.UseBy + PriceBound))
        {
            // Never priced (a report lost with a quota grain's crash): charged what was reserved.
            Charge(lease, now, lease.Unpriced * lease.PriceEach);
            lease.Unpriced = 0;
        }

        state.Leases.RemoveAll(l => l.Open == 0 && l.Unpriced == 0);
        var longest = options.ModelBudgets.Values.Concat(options.ClientBudgets.Values.Select(c => c.Caps))
            .SelectMany(limits => limits).Select(l => l.Window ?? TimeSpan.Zero).Append(options.Window).Max();
        var cutoff = now - longest - options.SafetyMargin;
        state.Written.RemoveAll(w => w.At <= cutoff);
        var today = QuotaClock.PacificDay(now);
        state.Days.RemoveAll(d => d.Day != today);
        state.Pauses.RemoveAll(p => p.Until < now - TimeSpan.FromMinutes(5));
        var periods = options.SpendCaps.Select(c => c.Period(now)).ToHashSet(StringComparer.Ordinal);
        state.Spend.RemoveAll(s => !periods.Contains(s.Period));
        while (_recentUses.TryPeek(out var oldest) && now - oldest.At > options.Window)
        {
            _recentUses.Dequeue();
        }
    }

    /// <summary>Charges <paramref name="micros"/> to every spend ledger the lease's permits count in, in each cap's period.</summary>
    private void Charge(LeaseRecord lease, DateTimeOffset now, long micros)
    {
        if (micros <= 0 || options.SpendCaps.Count == 0)
        {
            return;
        }

        var client = lease.Client ?? "";
        var ledgers = options.SpendCaps.Where(c => c.Scope == SpendScope.Global || (lease.Client is not null && c.Covers(client)))
            .Select(cap => (Ledger: cap.Ledger(client), Period: cap.Period(now))).Distinct();
        foreach (var (ledger, period) in ledgers)
        {
            if (state.Spend.Find(s => s.Ledger == ledger && s.Period == period) is { } use)
            {
                use.Micros += micros;
            }
            else
            {
                state.Spend.Add(new SpendUse { Ledger = ledger, Period = period, Micros = micros });
            }
        }
    }

    private long Spent(string ledger, string period) => state.Spend.Where(s => s.Ledger == ledger && s.Period == period).Sum(s => s.Micros);

    private long Reserved(string ledger) => state.Leases
        .Where(l => l.Unpriced > 0 && (ledger == "$global" || (l.Client is not null && ledger == "$c:" + l.Client)))
        .Sum(l => l.Unpriced * l.PriceEach);

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private ModelPause? PauseOf(string model, DateTimeOffset now) => state.Pauses.Find(p => p.Model == model && now < p.Until);

    private DayUse DayOf(string ledger, DateTimeOffset now)
    {
        var today = QuotaClock.PacificDay(now);
        if (state.Days.Find(d => d.Ledger == ledger && d.Day == today) is { } day)
        {
            return day;
        }

        day = new DayUse { Ledger = ledger, Day = today };
        state.Days.Add(day);
        return day;
    }

    private string? CappedClient(string? client) => client is not null && options.CountsApart(client) ? client : null;

    private static IEnumerable<string> Ledgers(LeaseRecord lease) =>
        lease.Client is { } client ? [ModelLedger(lease.Model), ClientLedger(client)] : [ModelLedger(lease.Model)];

    private TokenBucket? Bucket(string model, DateTimeOffset now)
    {
        // The window limit with the slowest rate paces the model.
        var slowest = options.LimitsOf(model).Where(l => !l.PerDay).MinBy(l => l.Requests / l.Window!.Value.TotalSeconds);
        if (slowest is null)
        {
            return null;
        }

        if (!_buckets.TryGetValue(model, out var bucket))
        {
            var capacity = Burst(slowest.Requests);
            bucket = new TokenBucket(slowest.Requests / slowest.Window!.Value.TotalSeconds, capacity, now);
            _buckets[model] = bucket;
        }

        bucket.Refill(now);
        return bucket;
    }

    private int Burst(int requests) => Math.Max(1, (int)Math.Ceiling(requests * options.BurstPercent / 100.0));

    private static BudgetAnswer Refused(BudgetAsk ask, TimeSpan retryAfter, string why) =>
        new(ask.Model, ask.Client, Guid.Empty, 0, TimeSpan.Zero, retryAfter < TimeSpan.FromMilliseconds(10) ? TimeSpan.FromMilliseconds(10) : retryAfter, why);

    /// <summary>Tokens at <c>rate</c> per second, at most <c>capacity</c>; full at start.</summary>
    private sealed class TokenBucket(double rate, int capacity, DateTimeOffset now)
    {
        private DateTimeOffset _at = now;

        public double Tokens { get; private set; } = capacity;

        public int Capacity => capacity;

        public void Refill(DateTimeOffset now)
        {
            if (now > _at)
            {
                Tokens = Math.Min(capacity, Tokens + ((now - _at).TotalSeconds * rate));
                _at = now;
            }
        }

        public void Take(int count) => Tokens -= count;

        public void Give(int count) => Tokens = Math.Min(capacity, Tokens + count);

        public TimeSpan TimeFor(int count) => TimeSpan.FromSeconds(Math.Max(0, count - Tokens) / rate);
    }
}
