using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Jobs;
using GenerationWorker.Grains.Postgres;

namespace GenerationWorker.Grains.Images;

/// <summary>How one image request of a job ended.</summary>
public abstract record VariantResult
{
    private VariantResult()
    {
    }

    /// <summary>Stored; <paramref name="Unrecorded"/> is the job's last variant, left for the completion to record.</summary>
    public sealed record Stored(StoredOutput Output, UnrecordedOutput? Unrecorded = null) : VariantResult;

    /// <summary>The budget refused the request (paused by a 429): nothing was sent.</summary>
    public sealed record Paused : VariantResult;

    /// <summary>Gemini answered 429.</summary>
    public sealed record Throttled(GeminiOutcome.Throttled Outcome) : VariantResult;

    /// <summary>Gemini refused the service itself.</summary>
    public sealed record Fatal(string Message) : VariantResult;

    /// <summary>A failure a retry cannot mend.</summary>
    public sealed record Permanent(string Message) : VariantResult;

    /// <summary>A failure worth one retry of the job, no more (no image without a reason).</summary>
    public sealed record RetryOnce(string Message) : VariantResult;

    /// <summary>A failure a retry may mend.</summary>
    public sealed record Retryable(string Message, TimeSpan? RetryDelay) : VariantResult;

    /// <summary>What a Gemini answer other than an image means for the job.</summary>
    /// <param name="outcome">Gemini's answer.</param>
    /// <param name="options">The operator's models, which a fatal answer about refuses the service.</param>
    public static VariantResult FromFailure(GeminiOutcome outcome, GeminiOptions options) => outcome switch
    {
        GeminiOutcome.Fatal fatal when !RefusesService(fatal, options) => new Permanent(OverrideRefused(fatal)),
        GeminiOutcome.ModelNotFound notFound => new Permanent($"Gemini model '{notFound.Model}' was not found: {notFound.Message}"),
        GeminiOutcome.Blocked { RetryOnce: true } blocked => new RetryOnce(BlockedMessage(blocked)),
        GeminiOutcome.Blocked blocked => new Permanent(BlockedMessage(blocked)),
        GeminiOutcome.Rejected rejected => new Permanent("Gemini rejected the request: " + rejected.Message),
        GeminiOutcome.Throttled throttled => new Throttled(throttled),
        GeminiOutcome.Fatal fatal => new Fatal($"Gemini refused the service (HTTP {fatal.StatusCode}): {fatal.Message}"),
        GeminiOutcome.Retryable retryable => new Retryable(
            $"Gemini error {(retryable.StatusCode == 0 ? "(no response)" : retryable.StatusCode)}: {retryable.Message}",
            retryable.RetryDelay),
        _ => new Retryable("unexpected Gemini outcome " + outcome.GetType().Name, null),
    };

    /// <summary>
    /// True when a fatal answer refuses the whole service (claiming stops on every silo): the key or the endpoint is at
    /// fault, or the refused model is one the operator configured. False when Gemini refused, for itself, a model that
    /// only the job's model override named (a paid model on a free-tier project): that job fails, the service runs on.
    /// </summary>
    public static bool RefusesService(GeminiOutcome.Fatal fatal, GeminiOptions options) =>
        fatal.ServiceWide || ModelRoutes.IsConfigured(options, fatal.Model);

    /// <summary>The error of a job whose model override Gemini refused (see <see cref="RefusesService"/>).</summary>
    public static string OverrideRefused(GeminiOutcome.Fatal fatal) =>
        $"Gemini refused model '{fatal.Model}', named by the job's model override (HTTP {fatal.StatusCode}): {fatal.Message}";

    /// <summary>
    /// What the variants' results mean for the job: the most serious failure wins (a refusal of the service, then a
    /// permanent failure, then a 429, then a retryable one); null when every variant is stored.
    /// </summary>
    /// <param name="results">The results of the variants run by this claim.</param>
    /// <param name="attempt">The claim's attempt: a second "no image" fails the job.</param>
    public static JobResult? Decide(IReadOnlyList<VariantResult> results, int attempt)
    {
        if (results.OfType<Fatal>().FirstOrDefault() is { } fatal)
        {
            return new JobResult.StopService(fatal.Message);
        }

        if (results.OfType<Permanent>().FirstOrDefault() is { } permanent)
        {
            return new JobResult.Fail(permanent.Message);
        }

        if (results.OfType<RetryOnce>().FirstOrDefault() is { } once && attempt >= 2)
        {
            return new JobResult.Fail(once.Message);
        }

        if (results.OfType<Throttled>().FirstOrDefault() is { } throttled)
        {
            return new JobResult.Throttle(throttled.Outcome);
        }

        if (results.OfType<Paused>().Any())
        {
            return new JobResult.Release("waiting for the Gemini budget after a 429", TimeSpan.Zero);
        }

        return results.OfType<Retryable>().FirstOrDefault() is { } retryable
            ? new JobResult.Retry(retryable.Message, retryable.RetryDelay)
            : results.OfType<RetryOnce>().FirstOrDefault() is { } first
                ? new JobResult.Retry(first.Message)
                : null;
    }

    private static string BlockedMessage(GeminiOutcome.Blocked blocked) =>
        $"Gemini returned no image ({blocked.Reason})" + (string.IsNullOrWhiteSpace(blocked.Text) ? "" : ": " + Shorten(blocked.Text));

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "...";
}
