using GenerationWorker.Grains.Configuration;
using Microsoft.Extensions.Options;

namespace GenerationWorker.Grains.Jobs;

/// <summary>
/// When a job that failed in a retryable way runs again: exponential backoff with jitter. The n-th attempt's failure
/// waits <c>min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2^(n-1))</c>, scaled by a random factor in [0.5, 1) so that
/// jobs failed together do not return together; a server-given delay (RetryInfo) is a lower bound, capped at 1 hour.
/// </summary>
public sealed class RetryPolicy(IOptions<WorkerOptions> options)
{
    /// <summary>The longest server-given delay followed: 1 hour.</summary>
    public static readonly TimeSpan MaxServerDelay = TimeSpan.FromHours(1);

    private readonly WorkerOptions _options = options.Value;

    /// <summary>The delay before the next attempt after attempt <paramref name="attempt"/> failed.</summary>
    public TimeSpan Delay(int attempt, TimeSpan? serverDelay = null)
    {
        var exponent = Math.Clamp(attempt - 1, 0, 30);
        var ceiling = Math.Min(_options.RetryMaxDelay.TotalSeconds, _options.RetryBaseDelay.TotalSeconds * Math.Pow(2, exponent));
        var delay = TimeSpan.FromSeconds(ceiling * (0.5 + (Random.Shared.NextDouble() / 2)));
        // A server's delay is a lower bound, but never more than an hour.
        return serverDelay is { } hint && hint > delay ? (hint > MaxServerDelay ? MaxServerDelay : hint) : delay;
    }
}
