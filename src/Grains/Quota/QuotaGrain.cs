using GenerationWorker.Grains.Telemetry;
using GenerationWorker.Interfaces;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using Orleans.Storage;
using GenerationWorker.Grains.Dispatch;

namespace GenerationWorker.Grains.Quota;

/// <summary>
/// The cluster's one Gemini budget: at most <see cref="QuotaOptions.RequestsPerWindow"/> requests in ANY window of
/// <see cref="QuotaOptions.Window"/>, counted per request (every variant, every retry) across every silo.
/// </summary>
/// <remarks>
/// <para>The budget is a set of slots. A slot is taken when it is reserved, and frees one window (plus a small margin)
/// after its request was announced with <see cref="BeginRequestAsync"/>, or at once when released unused. At any
/// instant at most <c>budget</c> slots are taken, and every request of a window holds its slot at the window's last
/// request, so no window can see more than <c>budget</c> requests, whatever the calendar.</para>
/// <para>Grants are persisted (ETag-checked) before they are returned. A second activation during a membership change
/// fails its write and cannot grant. Sends and releases are persisted lazily: after a reactivation every pending slot
/// is held for one more window, which can only under-use the budget, never exceed it.</para>
/// </remarks>
public sealed partial class QuotaGrain(
    [PersistentState("quota", "quota")] IPersistentState<QuotaState> state,
    IOptions<QuotaOptions> options,
    IClusterMembershipService membership,
    TimeProvider time,
    ILogger<QuotaGrain> logger) : Grain, IQuotaGrain
{
    /// <summary>How long reserved slots wait for their requests before they free.</summary>
    private static readonly TimeSpan MinimumHold = TimeSpan.FromMinutes(2);

    /// <summary>A silo that asked within this time counts as wanting a share.</summary>
    private static readonly TimeSpan DemandMemory = TimeSpan.FromSeconds(5);

    private readonly QuotaOptions _options = options.Value;
    private readonly Dictionary<string, DateTimeOffset> _lastDemand = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _denied = new(StringComparer.Ordinal);
    private bool _dirty;
    private DateTimeOffset _lastSummary;
    private DateTimeOffset _activatedAt;
    private HashSet<Guid> _inherited = [];

    private TimeSpan SlotLife => _options.Window + _options.SafetyMargin;

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Sends announced after the last write are unknown: hold every pending slot one more window.
        _activatedAt = time.GetUtcNow();
        var holdAtLeast = _activatedAt + SlotLife;
        foreach (var reservation in state.State.Reservations.Where(r => r.Pending > 0 && r.HoldUntil < holdAtLeast))
        {
            reservation.HoldUntil = holdAtLeast;
        }

        _inherited = [.. state.State.Reservations.Select(r => r.Id)];

        this.RegisterGrainTimer(FlushAsync, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        LogActivated(logger, _options.RequestsPerWindow, _options.Window.TotalSeconds, Occupied(time.GetUtcNow()));
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task<QuotaGrant> AcquireAsync(string siloId, int wanted, int minimum, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        if (IsPaused(now))
        {
            return new QuotaGrant(Guid.Empty, 0, state.State.PausedUntil, true);
        }

        _lastDemand[siloId] = now;
        minimum = Math.Clamp(minimum, 1, _options.RequestsPerWindow);
        var available = _options.RequestsPerWindow - Occupied(now);
        var granted = Math.Min(wanted, available);

        // Work-conserving fairness: a silo is held to its share of the budget only while another silo that asked
        // recently went without, so no slot stays unused while someone wants it, and none starves.
        if (_denied.Any(d => d.Key != siloId && now - d.Value < DemandMemory))
        {
            var activeSilos = _lastDemand.Count(d => now - d.Value < DemandMemory);
            var fairShare = Math.Max(minimum, (_options.RequestsPerWindow + activeSilos - 1) / activeSilos);
            var heldBySilo = state.State.Reservations.Where(r => r.SiloId == siloId).Sum(r => Held(r, now));
            granted = Math.Min(granted, fairShare - heldBySilo);
        }

        if (granted < minimum)
        {
            _denied[siloId] = now;
            return new QuotaGrant(Guid.Empty, 0, NextFree(now), false);
        }

        _denied.Remove(siloId);
        var reservationId = await ReserveAsync(siloId, granted, now);
        return new QuotaGrant(reservationId, granted, granted < wanted ? NextFree(now) : null, false);
    }

    /// <inheritdoc />
    public async Task<QuotaGrant> AcquireStandingAsync(
        string siloId, int wanted, Guid replaced, int unusedOfReplaced, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        GiveBack(replaced, unusedOfReplaced);
        if (IsPaused(now))
        {
            return new QuotaGrant(Guid.Empty, 0, state.State.PausedUntil, true);
        }

        // Slots held by idle silos are taken from everyone else: only from the half of the budget nobody uses, and
        // none while another silo went without.
        var granted = Math.Min(wanted, (_options.RequestsPerWindow / 2) - Occupied(now));
        if (granted < 1 || _denied.Any(d => d.Key != siloId && now - d.Value < DemandMemory))
        {
            return new QuotaGrant(Guid.Empty, 0, null, false);
        }

        var reservationId = await ReserveAsync(siloId, granted, now);
        return new QuotaGrant(reservationId, granted, null, false);
    }

    /// <inheritdoc />
    public async Task<bool> BeginRequestAsync(Guid reservationId, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        if (IsPaused(now))
        {
            return false;
        }

        var reservation = state.State.Reservations.Find(r => r.Id == reservationId);
        if (reservation is { Pending: > 0 } && now < reservation.HoldUntil)
        {
            reservation.Pending--;
            reservation.Sent.Add(now);
            _dirty = true;
            return true;
        }

        // The reservation's slots were used up or have expired (a fallback model, a slow job): a fresh slot if one is free.
        if (Occupied(now) >= _options.RequestsPerWindow)
        {
            return false;
        }

        if (reservation is null)
        {
            reservation = new QuotaReservation { Id = reservationId, SiloId = "", HoldUntil = now };
            state.State.Reservations.Add(reservation);
        }

        // A slot outside the reservation's persisted ones: persisted before it is granted, so that a reactivation after
        // a crash still counts it.
        reservation.Sent.Add(now);
        await WriteOrStepAsideAsync();
        return true;
    }

    /// <inheritdoc />
    public Task ReleaseAsync(Guid reservationId, int unused, CancellationToken cancellationToken = default)
    {
        GiveBack(reservationId, unused);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task ReportThrottledAsync(TimeSpan? retryDelay, bool perDay, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var until = perDay
            ? NextPacificMidnight(now)
            : now + (retryDelay ?? TimeSpan.FromSeconds(Math.Min(60, 2 << Math.Min(state.State.ConsecutiveThrottles, 5))));
        if (state.State.PausedUntil is { } current && current >= until)
        {
            return;
        }

        state.State.PausedUntil = until;
        if (retryDelay is null)
        {
            state.State.ConsecutiveThrottles++;
        }

        LogPaused(logger, until, perDay, retryDelay?.TotalSeconds);
        await WriteOrStepAsideAsync();
    }

    /// <inheritdoc />
    public Task<QuotaStatus> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var sent = state.State.Reservations.Sum(r => r.Sent.Count(s => now - s < _options.Window));
        return Task.FromResult(new QuotaStatus(
            _options.RequestsPerWindow, _options.Window, Occupied(now), sent, IsPaused(now) ? state.State.PausedUntil : null));
    }

    /// <summary>Midnight in Pacific time after <paramref name="now"/>: when per-day Gemini quotas reset.</summary>
    public static DateTimeOffset NextPacificMidnight(DateTimeOffset now)
    {
        var pacific = TimeZoneInfo.FindSystemTimeZoneById("America/Los_Angeles");
        var local = TimeZoneInfo.ConvertTime(now, pacific);
        var midnight = local.Date.AddDays(1);
        return new DateTimeOffset(midnight, pacific.GetUtcOffset(midnight));
    }

    private async Task<Guid> ReserveAsync(string siloId, int granted, DateTimeOffset now)
    {
        var reservation = new QuotaReservation
        {
            Id = Guid.NewGuid(),
            SiloId = siloId,
            Pending = granted,
            HoldUntil = now + (SlotLife > MinimumHold ? SlotLife : MinimumHold),
        };
        Prune(now);
        state.State.Reservations.Add(reservation);
        state.State.ConsecutiveThrottles = 0;
        await WriteOrStepAsideAsync();
        return reservation.Id;
    }

    private void GiveBack(Guid reservationId, int unused)
    {
        var reservation = state.State.Reservations.Find(r => r.Id == reservationId);
        if (reservation is not null && unused > 0)
        {
            reservation.Pending = Math.Max(0, reservation.Pending - unused);
            _dirty = true;
        }
    }

    private bool IsPaused(DateTimeOffset now) => state.State.PausedUntil is { } until && now < until;

    private int Held(QuotaReservation reservation, DateTimeOffset now) =>
        (now < reservation.HoldUntil ? reservation.Pending : 0) + reservation.Sent.Count(s => now < s + SlotLife);

    private int Occupied(DateTimeOffset now) => state.State.Reservations.Sum(r => Held(r, now));

    private DateTimeOffset NextFree(DateTimeOffset now)
    {
        var next = DateTimeOffset.MaxValue;
        foreach (var reservation in state.State.Reservations)
        {
            if (reservation.Pending > 0 && reservation.HoldUntil > now && reservation.HoldUntil < next)
            {
                next = reservation.HoldUntil;
            }

            foreach (var sent in reservation.Sent)
            {
                var free = sent + SlotLife;
                if (free > now && free < next)
                {
                    next = free;
                }
            }
        }

        return next == DateTimeOffset.MaxValue ? now : next;
    }

    private void Prune(DateTimeOffset now)
    {
        foreach (var reservation in state.State.Reservations)
        {
            reservation.Sent.RemoveAll(s => now >= s + SlotLife);
        }

        state.State.Reservations.RemoveAll(r => r.Sent.Count == 0 && (r.Pending == 0 || now >= r.HoldUntil));
        foreach (var silo in _lastDemand.Where(d => now - d.Value >= DemandMemory).Select(d => d.Key).ToList())
        {
            _lastDemand.Remove(silo);
            _denied.Remove(silo);
        }
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        FreeSlotsOfDeadSilos();
        WorkerTelemetry.Quota(_options.RequestsPerWindow, Occupied(now));
        if (now - _lastSummary >= _options.Window)
        {
            // Once a window, while the budget is used: what it is, what the window used, whether it is paused.
            _lastSummary = now;
            var sent = state.State.Reservations.Sum(r => r.Sent.Count(s => now - s < _options.Window));
            if (sent > 0 || IsPaused(now))
            {
                LogSummary(logger, sent, _options.RequestsPerWindow, _options.Window.TotalSeconds, Occupied(now), IsPaused(now));
            }
        }

        if (_dirty)
        {
            Prune(time.GetUtcNow());
            await WriteOrStepAsideAsync();
        }
    }

    /// <summary>
    /// Slots reserved by a silo the cluster declared dead will never be sent by it: free them now instead of holding them
    /// until they expire. Those this activation inherited may have been sent unannounced before a crash that took this
    /// grain's previous activation too: they keep the one-window hold set at activation.
    /// </summary>
    private void FreeSlotsOfDeadSilos()
    {
        var dead = membership.CurrentSnapshot.Members.Values
            .Where(member => member.Status == SiloStatus.Dead)
            .Select(member => SiloIdentity.Of(member.SiloAddress))
            .ToHashSet(StringComparer.Ordinal);
        foreach (var reservation in state.State.Reservations.Where(r => r.Pending > 0 && dead.Contains(r.SiloId)))
        {
            if (!_inherited.Contains(reservation.Id))
            {
                reservation.Pending = 0;
                _dirty = true;
            }
            else if (reservation.HoldUntil > _activatedAt + SlotLife)
            {
                reservation.HoldUntil = _activatedAt + SlotLife;
                _dirty = true;
            }
        }
    }

    private async Task WriteOrStepAsideAsync()
    {
        try
        {
            await state.WriteStateAsync();
            _dirty = false;
        }
        catch (InconsistentStateException exception)
        {
            // Another activation wrote since this one read: this one must not grant anything more.
            LogSteppingAside(logger, exception);
            DeactivateOnIdle();
            throw;
        }
    }
}
