using GenerationWorker.Grains.Dispatch;
using Microsoft.Extensions.Options;

namespace GenerationWorker.Grains.Jobs;

/// <summary>
/// When a job that failed in a retryable way runs again: exponential backoff with jitter. The n-th attempt's failure
/// waits <c>min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2^(n-1))</c>, scaled by a random factor in [0.5, 1) so that
/// jobs failed together do not return together; a server-given delay (RetryInfo) is a lower bound.
/// </summary>
public sealed class RetryPolicy(IOptions<WorkerOptions> options)
{
    private readonly WorkerOptions _options = options.Value;

    /// <summary>The delay before the next attempt after attempt <paramref name="attempt"/> failed.</summary>
    public TimeSpan Delay(int attempt, TimeSpan? serverDelay = null)
    {
        var exponent = Math.Clamp(attempt - 1, 0, 30);
        var ceiling = Math.Min(_options.RetryMaxDelay.TotalSeconds, _options.RetryBaseDelay.TotalSeconds * Math.Pow(2, exponent));
        var delay = TimeSpan.FromSeconds(ceiling * (0.5 + (Random.Shared.NextDouble() / 2)));
        return serverDelay is { } hint && hint > delay ? hint : delay;
    }
}
