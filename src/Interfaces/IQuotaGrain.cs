namespace GenerationWorker.Interfaces;

/// <summary>
/// The cluster's one Gemini budget: at most <c>MAX_JOBS_PER_MINUTE</c> requests in any window of
/// <c>QUOTA_WINDOW_SECONDS</c>, across every silo. A singleton: always use key <see cref="SingletonKey"/>.
/// </summary>
[Alias("IQuotaGrain")]
public interface IQuotaGrain : IGrainWithIntegerKey
{
    /// <summary>The key of the one quota grain.</summary>
    const long SingletonKey = 0;

    /// <summary>
    /// Reserves up to <paramref name="wanted"/> Gemini requests for <paramref name="siloId"/>, and never fewer than
    /// <paramref name="minimum"/> (the next job's need): a grant is either 0 or at least the minimum.
    /// </summary>
    /// <remarks>Granted slots are persisted before this returns. Unused slots must be given back with
    /// <see cref="ReleaseAsync"/>; each used one must be announced with <see cref="BeginRequestAsync"/>.</remarks>
    [Alias("AcquireAsync")]
    Task<QuotaGrant> AcquireAsync(string siloId, int wanted, int minimum, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reserves up to <paramref name="wanted"/> slots for <paramref name="siloId"/> to hold while it has no work, so that
    /// its next job starts without asking (and without waiting for a persisted write). Given only from the idle half of
    /// the budget and never while another silo went without; <paramref name="unusedOfReplaced"/> slots of the silo's
    /// previous standing reservation <paramref name="replaced"/> are given back in the same write.
    /// </summary>
    /// <remarks>Persisted before it returns, like <see cref="AcquireAsync"/>; a grant of 0 writes nothing new.</remarks>
    [Alias("AcquireStandingAsync")]
    Task<QuotaGrant> AcquireStandingAsync(
        string siloId, int wanted, Guid replaced, int unusedOfReplaced, CancellationToken cancellationToken = default);

    /// <summary>Announces that one reserved request is about to be sent now.</summary>
    /// <returns>False when the budget is paused by a 429: the caller must not send.</returns>
    [Alias("BeginRequestAsync")]
    Task<bool> BeginRequestAsync(Guid reservationId, CancellationToken cancellationToken = default);

    /// <summary>Gives back <paramref name="unused"/> slots of a reservation that will not be sent.</summary>
    [Alias("ReleaseAsync")]
    Task ReleaseAsync(Guid reservationId, int unused, CancellationToken cancellationToken = default);

    /// <summary>Pauses the whole budget after Gemini answered 429.</summary>
    /// <param name="retryDelay">Gemini's RetryInfo delay, or null (exponential backoff then applies).</param>
    /// <param name="perDay">True when the exhausted quota is per day: pause until midnight Pacific.</param>
    [Alias("ReportThrottledAsync")]
    Task ReportThrottledAsync(TimeSpan? retryDelay, bool perDay, CancellationToken cancellationToken = default);

    /// <summary>The budget, what is in use in the current window, and the pause state.</summary>
    [Alias("GetStatusAsync")]
    Task<QuotaStatus> GetStatusAsync(CancellationToken cancellationToken = default);
}

/// <summary>The answer to <see cref="IQuotaGrain.AcquireAsync"/>.</summary>
/// <param name="ReservationId">Identifies the granted slots (empty when none were granted).</param>
/// <param name="Granted">How many requests may be sent (0 to wanted).</param>
/// <param name="RetryAt">When asking again may succeed, when fewer than wanted were granted.</param>
/// <param name="Paused">True while a 429 pauses the budget.</param>
[GenerateSerializer, Immutable, Alias("QuotaGrant")]
public sealed record QuotaGrant(
    [property: Id(0)] Guid ReservationId,
    [property: Id(1)] int Granted,
    [property: Id(2)] DateTimeOffset? RetryAt,
    [property: Id(3)] bool Paused);

/// <summary>A snapshot of the budget.</summary>
/// <param name="Budget">Requests allowed per window.</param>
/// <param name="Window">The window length.</param>
/// <param name="InUse">Slots taken now: requests sent within the window plus reserved ones not yet sent.</param>
/// <param name="SentInWindow">Requests announced within the last window.</param>
/// <param name="PausedUntil">When a 429 pause ends, or null when not paused.</param>
[GenerateSerializer, Immutable, Alias("QuotaStatus")]
public sealed record QuotaStatus(
    [property: Id(0)] int Budget,
    [property: Id(1)] TimeSpan Window,
    [property: Id(2)] int InUse,
    [property: Id(3)] int SentInWindow,
    [property: Id(4)] DateTimeOffset? PausedUntil);
