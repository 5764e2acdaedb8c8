namespace GenerationWorker.Interfaces;

/// <summary>
/// The cluster's Gemini budgets: per model (every limit of <c>GEMINI_MODEL_BUDGETS</c>, or <c>MAX_JOBS_PER_MINUTE</c>
/// per <c>QUOTA_WINDOW_SECONDS</c>) and per capped client, across every silo. A singleton: always use key
/// <see cref="SingletonKey"/>. Each silo's budget owner is its only caller: it leases blocks of permits, reports when
/// each was used, and gives back what it did not use.
/// </summary>
[Alias("IQuotaGrain")]
public interface IQuotaGrain : IGrainWithIntegerKey
{
    /// <summary>The key of the one quota grain.</summary>
    const long SingletonKey = 0;

    /// <summary>
    /// Records the permits <paramref name="used"/> and <paramref name="returned"/> since the silo's last exchange, then
    /// answers each of <paramref name="asks"/> with a lease of permits (persisted before it is returned) or when to ask
    /// again.
    /// </summary>
    /// <param name="siloId">The asking silo (its leases are freed when it dies).</param>
    /// <param name="asks">What the silo's jobs need now, per model (and per capped client).</param>
    /// <param name="used">Permits whose requests were written, with how long ago (durations: silos' clocks may differ).</param>
    /// <param name="returned">Permits of leases that will not be used.</param>
    /// <param name="priced">What used permits' requests cost, once answered (for the spend caps).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    [Alias("ExchangeAsync")]
    Task<IReadOnlyList<BudgetAnswer>> ExchangeAsync(
        string siloId, IReadOnlyList<BudgetAsk> asks, IReadOnlyList<PermitUse> used, IReadOnlyList<PermitReturn> returned,
        IReadOnlyList<PermitCost> priced, CancellationToken cancellationToken = default);

    /// <summary>Pauses <paramref name="model"/> after Gemini answered 429 for it.</summary>
    /// <param name="model">The model the 429 named.</param>
    /// <param name="retryDelay">Gemini's RetryInfo delay, or null (exponential backoff then applies).</param>
    /// <param name="perDay">True when the exhausted quota is per day: the model pauses until midnight Pacific.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    [Alias("ReportThrottledAsync")]
    Task ReportThrottledAsync(string model, TimeSpan? retryDelay, bool perDay, CancellationToken cancellationToken = default);

    /// <summary>
    /// Closes the leases of <paramref name="silos"/>, which membership declared dead: their open permits count as written
    /// now and their unpriced ones are charged their reserved price (persisted before it returns). Idempotent: a silo
    /// already closed changes nothing.
    /// </summary>
    /// <param name="silos">The dead silos' identities (<c>SiloIdentity.Of</c> their address).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    [Alias("SiloDiedAsync")]
    Task SiloDiedAsync(IReadOnlyList<string> silos, CancellationToken cancellationToken = default);

    /// <summary>Every model's limits and use, the pauses, and each client's share of the last window.</summary>
    [Alias("GetStatusAsync")]
    Task<BudgetStatus> GetStatusAsync(CancellationToken cancellationToken = default);
}

/// <summary>Permits a silo's jobs need now.</summary>
/// <param name="Model">The model the requests go to.</param>
/// <param name="Client">The client, when it has caps of its own (its permits count against them too); else null.</param>
/// <param name="Requests">How many.</param>
/// <param name="Interactive">True when an interactive job waits for them (it may use the model's reserve).</param>
/// <param name="Ahead">
/// Permits the silo would take beyond <paramref name="Requests"/>, for the jobs its recent use says come next (so that
/// they start without an exchange): granted only from the half of the budget nobody uses, never while another ask of
/// the model goes without; given back unused a second after the silo's jobs stop wanting them.
/// </param>
[GenerateSerializer, Immutable, Alias("BudgetAsk")]
public sealed record BudgetAsk(
    [property: Id(0)] string Model, [property: Id(1)] string? Client, [property: Id(2)] int Requests, [property: Id(3)] bool Interactive,
    [property: Id(5)] int Ahead = 0);

/// <summary>Permits of a lease whose requests were written to Gemini.</summary>
/// <param name="Lease">The lease.</param>
/// <param name="Client">The job's client (for the shares shown to operators).</param>
/// <param name="Count">How many.</param>
/// <param name="Age">How long before the report the last of them was written.</param>
[GenerateSerializer, Immutable, Alias("PermitUse")]
public sealed record PermitUse([property: Id(0)] Guid Lease, [property: Id(1)] string Client, [property: Id(2)] int Count, [property: Id(3)] TimeSpan Age);

/// <summary>What one permit's request cost (billed, or possibly billed: full price), in micro-dollars.</summary>
[GenerateSerializer, Immutable, Alias("PermitCost")]
public sealed record PermitCost([property: Id(0)] Guid Lease, [property: Id(1)] long Micros);

/// <summary>Permits of a lease given back unused.</summary>
[GenerateSerializer, Immutable, Alias("PermitReturn")]
public sealed record PermitReturn([property: Id(0)] Guid Lease, [property: Id(1)] int Count);

/// <summary>The answer to one <see cref="BudgetAsk"/>.</summary>
/// <param name="Model">The ask's model.</param>
/// <param name="Client">The ask's client.</param>
/// <param name="LeaseId">The lease's id (empty when nothing was granted).</param>
/// <param name="Granted">Permits granted (0 to the ask's count).</param>
/// <param name="UseWithin">How long after receipt the permits may be used; the rest must be given back.</param>
/// <param name="RetryAfter">When fewer were granted than asked: how soon asking again may get more.</param>
/// <param name="Waiting">Why fewer were granted (a pause, a limit, a cap), for operators.</param>
[GenerateSerializer, Immutable, Alias("BudgetAnswer")]
public sealed record BudgetAnswer(
    [property: Id(0)] string Model,
    [property: Id(1)] string? Client,
    [property: Id(2)] Guid LeaseId,
    [property: Id(3)] int Granted,
    [property: Id(4)] TimeSpan UseWithin,
    [property: Id(5)] TimeSpan? RetryAfter,
    [property: Id(6)] string? Waiting);

/// <summary>A snapshot of every budget.</summary>
/// <param name="Models">Each model's limits and use.</param>
/// <param name="Clients">Each client's requests in the last window of the default budget, and its share of them.</param>
/// <param name="Caps">Each spend cap's period so far (for a cap of each client, the clients that spent).</param>
[GenerateSerializer, Immutable, Alias("BudgetStatus")]
public sealed record BudgetStatus(
    [property: Id(0)] IReadOnlyList<ModelBudget> Models, [property: Id(1)] IReadOnlyList<ClientShare> Clients,
    [property: Id(2)] IReadOnlyList<CapUse>? Caps = null);

/// <summary>A spend cap's current period.</summary>
/// <param name="Cap">As written in settings (<c>global=300/day</c>), with the client for a cap of each client.</param>
/// <param name="CapMicros">The cap.</param>
/// <param name="SpentMicros">Charged so far this period.</param>
/// <param name="ReservedMicros">Reserved for permits leased and not yet priced.</param>
/// <param name="Period">The Pacific day or month.</param>
[GenerateSerializer, Immutable, Alias("CapUse")]
public sealed record CapUse(
    [property: Id(0)] string Cap, [property: Id(1)] long CapMicros, [property: Id(2)] long SpentMicros, [property: Id(3)] long ReservedMicros,
    [property: Id(4)] string Period);

/// <summary>One model's budget now.</summary>
/// <param name="Model">The model.</param>
/// <param name="Limits">Each limit and its use.</param>
/// <param name="PausedUntil">When a 429 pause of the model ends, or null.</param>
/// <param name="PausedWhy">Why it is paused, or null.</param>
/// <param name="Leased">Permits leased to silos and not yet used or given back.</param>
[GenerateSerializer, Immutable, Alias("ModelBudget")]
public sealed record ModelBudget(
    [property: Id(0)] string Model,
    [property: Id(1)] IReadOnlyList<LimitUse> Limits,
    [property: Id(2)] DateTimeOffset? PausedUntil,
    [property: Id(3)] string? PausedWhy,
    [property: Id(4)] int Leased);

/// <summary>One limit's use.</summary>
/// <param name="Limit">As written in settings (<c>60/60s</c>, <c>1000/day</c>).</param>
/// <param name="Requests">The limit's N.</param>
/// <param name="Window">Its window, or null for a day.</param>
/// <param name="Used">Slots taken now (written within the window, or leased), or requests granted today.</param>
/// <param name="Allowed">What the limit allows now: N for a window; for a day, what its pacing has released so far.</param>
[GenerateSerializer, Immutable, Alias("LimitUse")]
public sealed record LimitUse(
    [property: Id(0)] string Limit, [property: Id(1)] int Requests, [property: Id(2)] TimeSpan? Window, [property: Id(3)] int Used,
    [property: Id(4)] int Allowed);

/// <summary>A client's share of the requests written in the last window.</summary>
[GenerateSerializer, Immutable, Alias("ClientShare")]
public sealed record ClientShare([property: Id(0)] string Client, [property: Id(1)] int Requests, [property: Id(2)] double Share);
