using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Telemetry;
using GenerationWorker.Interfaces;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using Orleans.Storage;

namespace GenerationWorker.Grains.Quota;

/// <summary>
/// The cluster's Gemini budgets (see <see cref="QuotaBook"/> for the accounting). Each silo's <see cref="SiloBudget"/>
/// is its only caller: a few exchanges a second per silo, each leasing a block of permits, whatever the request rate.
/// </summary>
/// <remarks>
/// Leases, and the uses, returns and prices a silo reports, are persisted (ETag-checked) before the exchange answers;
/// a second activation during a membership change fails its write, so it cannot grant, and the silo whose exchange
/// failed reports again to the activation that stays. Refusals and status also rest on a write less than a second old
/// (see <see cref="ConfirmCurrentAsync"/>). After a crash the open
/// leases of the last write are held until their silos report them, die, or their use-by passes: the budget can only be
/// under-used for a moment, never exceeded. A dead silo's leases close when a silo's <see cref="Rescue.Rescuer"/> tells
/// it (<see cref="SiloDiedAsync"/>) and, for the silos already dead, when it activates.
/// </remarks>
public sealed partial class QuotaGrain(
    [PersistentState("budget", "quota")] IPersistentState<BudgetState> state,
    IOptions<QuotaOptions> options,
    IOptions<GeminiOptions> prices,
    IClusterMembershipService membership,
    GrainReferences grains,
    BudgetClock time,
    WorkerTelemetry telemetry,
    ILogger<QuotaGrain> logger) : Grain, IQuotaGrain
{
    private readonly QuotaOptions _options = options.Value;
    private readonly HashSet<string> _capsReached = new(StringComparer.Ordinal);
    private QuotaBook _book = null!;
    /// <summary>How long an answer that grants nothing may rely on the last write without writing again.</summary>
    private static readonly TimeSpan Confirmation = TimeSpan.FromSeconds(1);

    private bool _dirty;
    private DateTimeOffset _confirmedAt;
    private DateTimeOffset _lastSummary;

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _confirmedAt = time.GetUtcNow();
        _book = new QuotaBook(state.State, _options, PriceOf);

        // The silos that died before this activation (the one that hosted it, maybe): written at the first flush.
        _dirty = CloseLeasesOf(membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Dead).Select(m => SiloIdentity.Of(m.SiloAddress)));
        this.RegisterGrainTimer(FlushAsync, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        LogActivated(logger, Describe(_options), state.State.Leases.Sum(l => l.Open));
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<BudgetAnswer>> ExchangeAsync(
        string siloId, IReadOnlyList<BudgetAsk> asks, IReadOnlyList<PermitUse> used, IReadOnlyList<PermitReturn> returned,
        IReadOnlyList<PermitCost> priced, CancellationToken cancellationToken = default)
    {
        var (answers, granted) = _book.Exchange(time.GetUtcNow(), siloId, asks, used, returned, priced);
        foreach (var capped in answers.Where(a => a.Waiting?.StartsWith("spend cap", StringComparison.Ordinal) == true).Select(a => a.Waiting!).Distinct())
        {
            if (_capsReached.Add(capped))
            {
                LogCapReached(logger, capped);
            }
        }

        if (granted || used.Count > 0 || returned.Count > 0 || priced.Count > 0)
        {
            // Persisted before the silo hears back: a report it believes delivered is never lost with this activation
            // (a second one during a membership change wins the write; the silo then sends its reports again).
            await WriteOrStepAsideAsync();
        }
        else
        {
            await ConfirmCurrentAsync();
        }

        return answers;
    }

    /// <inheritdoc />
    public async Task ReportThrottledAsync(string model, TimeSpan? retryDelay, bool perDay, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        if (_book.Pause(now, model, retryDelay, perDay) is { } until)
        {
            LogPaused(logger, model, until, perDay, retryDelay?.TotalSeconds);

            // Every silo stops sending to the model now, not at its next exchange (the permits it holds go back), before
            // the pause is persisted: a request already past its permit is in flight, the rest wait.
            foreach (var member in membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active))
            {
                _ = grains.Dispatcher(SiloIdentity.Of(member.SiloAddress)).ModelPausedAsync(model, until - now);
            }

            await WriteOrStepAsideAsync();
        }
    }

    /// <inheritdoc />
    public async Task SiloDiedAsync(IReadOnlyList<string> silos, CancellationToken cancellationToken = default)
    {
        if (CloseLeasesOf(silos))
        {
            await WriteOrStepAsideAsync();
        }
    }

    /// <inheritdoc />
    public async Task<BudgetStatus> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await ConfirmCurrentAsync();
        }
        catch (InconsistentStateException)
        {
            // This activation is stale and going: the status comes from the state the current one wrote.
            await state.ReadStateAsync();
            return new QuotaBook(state.State, _options, PriceOf).Status(time.GetUtcNow(), []);
        }

        return _book.Status(time.GetUtcNow(), []);
    }

    /// <summary>Midnight in Pacific time after <paramref name="now"/>: when per-day Gemini quotas reset.</summary>
    public static DateTimeOffset NextPacificMidnight(DateTimeOffset now) => QuotaClock.NextPacificMidnight(now);

    /// <summary>What each permit of <paramref name="model"/> reserves against the spend caps.</summary>
    private long PriceOf(string model) => MostPerRequest(prices.Value.Prices.For(model, out _));

    /// <summary>The dearest request of a model: what each permit reserves against the spend caps.</summary>
    private static long MostPerRequest(Cost.ModelPrice price) =>
        Math.Max(Math.Max(price.ImageMicros, price.Image4KMicros), price.VideoMicros(Cost.CostLedger.VeoSeconds));

    private static string Describe(QuotaOptions options) =>
        (options.RequestsPerWindow > 0 ? $"{options.RequestsPerWindow} per {options.Window.TotalSeconds:0.###} s per model" : "no default")
        + string.Concat(options.ModelBudgets.Select(m => $"; {m.Key}: {string.Join(", ", m.Value)}"));

    /// <summary>A dead silo's leases close (see <see cref="QuotaBook.SiloDied"/>); true when something changed.</summary>
    private bool CloseLeasesOf(IEnumerable<string> silos)
    {
        var now = time.GetUtcNow();
        var changed = false;
        foreach (var silo in silos)
        {
            changed |= _book.SiloDied(now, silo);
        }

        return changed;
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var status = _book.Status(now, []);
        foreach (var model in status.Models)
        {
            telemetry.Budget(model);
        }

        telemetry.Shares(status.Clients);

        if (status.Caps is { Count: > 0 } caps && now - _lastSummary >= _options.Window)
        {
            // A new period forgets which caps were reached.
            _capsReached.RemoveWhere(reached => !caps.Any(c => c.SpentMicros + c.ReservedMicros >= c.CapMicros && reached.Contains(c.Cap, StringComparison.Ordinal)));
        }

        if (now - _lastSummary >= _options.Window)
        {
            // Once a window, while a budget is used or paused: what each model used.
            _lastSummary = now;
            foreach (var model in status.Models.Where(m => m.PausedUntil is not null || m.Limits.Any(l => l.Used > 0)))
            {
                LogSummary(logger, model.Model, string.Join(", ", model.Limits.Select(l => $"{l.Used}/{l.Limit}")), model.PausedUntil);
            }
        }

        if (_dirty)
        {
            await WriteOrStepAsideAsync();
        }
    }

    /// <summary>
    /// Refusals and status come from a state written (or read) within <see cref="Confirmation"/>: a second activation
    /// left by a membership change, which no silo reports to, finds out at its next write and steps aside instead of
    /// refusing permits and showing spending from a state that is no longer current.
    /// </summary>
    private async Task ConfirmCurrentAsync()
    {
        if (time.GetUtcNow() - _confirmedAt > Confirmation)
        {
            await WriteOrStepAsideAsync();
        }
    }

    private async Task WriteOrStepAsideAsync()
    {
        try
        {
            await state.WriteStateAsync();
            _dirty = false;
            _confirmedAt = time.GetUtcNow();
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
