namespace GenerationWorker.Grains.Gemini;

/// <summary>
/// What one <c>generateContent</c> call produced. Every HTTP answer (and every transport failure) maps to exactly one
/// of these cases; callers switch on the type, never on message strings.
/// </summary>
public abstract record GeminiOutcome
{
    private GeminiOutcome() { }

    /// <summary>The call produced an image. Dispose it once stored or given up: that deletes its temporary file.</summary>
    /// <param name="Data">The decoded image (never logged), in a temporary file or, when small, in memory.</param>
    /// <param name="Text">Any text part the model sent along, or null.</param>
    public sealed record Image(GeneratedImage Data, string? Text) : GeminiOutcome, IDisposable
    {
        /// <summary>The MIME type Gemini reported, for example <c>image/png</c>.</summary>
        public string MimeType => Data.MimeType;

        /// <summary>The answer's <c>usageMetadata</c>, or null when it had none.</summary>
        public GeminiUsage? Usage { get; init; }

        /// <inheritdoc />
        public void Dispose() => Data.Dispose();
    }

    /// <summary>
    /// HTTP 200 without an image: a safety block, a refusal, or no image. Permanent for this prompt, except that
    /// <see cref="RetryOnce"/> reasons (NO_IMAGE, IMAGE_OTHER) deserve one more try.
    /// </summary>
    /// <param name="Reason">The finishReason or promptFeedback.blockReason, as Gemini spelled it.</param>
    /// <param name="Text">The model's text, if it sent any (a refusal), or null.</param>
    public sealed record Blocked(string Reason, string? Text) : GeminiOutcome
    {
        /// <summary>True for reasons that may succeed on a second try (NO_IMAGE, IMAGE_OTHER).</summary>
        public bool RetryOnce => Reason is "NO_IMAGE" or "IMAGE_OTHER";

        /// <summary>The answer's <c>usageMetadata</c>, or null when it had none: a block still bills its input.</summary>
        public GeminiUsage? Usage { get; init; }
    }

    /// <summary>A transient failure (500, 502, 503, 504, 408, a timeout or a dropped connection): retry later.</summary>
    /// <param name="StatusCode">The HTTP status, or 0 when no response arrived.</param>
    /// <param name="Message">A short description without secrets.</param>
    /// <param name="RetryDelay">The server's suggested delay, when it gave one.</param>
    public sealed record Retryable(int StatusCode, string Message, TimeSpan? RetryDelay) : GeminiOutcome;

    /// <summary>HTTP 429: the Gemini project's quota is exhausted. Pauses the whole cluster's budget.</summary>
    /// <param name="Message">Gemini's message.</param>
    /// <param name="RetryDelay">RetryInfo.retryDelay when given.</param>
    /// <param name="QuotaId">The first QuotaFailure violation's quotaId, when given.</param>
    public sealed record Throttled(string Message, TimeSpan? RetryDelay, string? QuotaId) : GeminiOutcome
    {
        /// <summary>True when the exhausted quota is a per-day one (it resets at midnight Pacific).</summary>
        public bool PerDay => QuotaId?.Contains("PerDay", StringComparison.Ordinal) == true;
    }

    /// <summary>
    /// The service cannot use Gemini (invalid or leaked key, permission denied, free tier unavailable): stop claiming
    /// jobs instead of failing them one by one. A refusal of one model (<paramref name="ServiceWide"/> false) that only
    /// a job's model override named fails that job instead (<c>VariantResult.RefusesService</c> decides).
    /// </summary>
    /// <param name="StatusCode">The HTTP status.</param>
    /// <param name="Message">Gemini's message (it never contains the key).</param>
    /// <param name="Model">The model called (for a Veo poll or download: the operation or file asked for).</param>
    /// <param name="ServiceWide">True when no model can be used: the key is invalid (API_KEY_INVALID), missing or denied
    /// (401, 403), or the status is one the API never answers (GEMINI_BASE_URL is wrong). False for a refusal that may
    /// concern only the model called (400 FAILED_PRECONDITION: a paid model on a free-tier project).</param>
    public sealed record Fatal(int StatusCode, string Message, string Model, bool ServiceWide) : GeminiOutcome;

    /// <summary>HTTP 404 for the model: use the fallback model when one is configured.</summary>
    /// <param name="Model">The model id that was not found.</param>
    /// <param name="Message">Gemini's message.</param>
    public sealed record ModelNotFound(string Model, string Message) : GeminiOutcome;

    /// <summary>HTTP 400 about this request (bad input image, bad argument): permanent for the job.</summary>
    /// <param name="Message">Gemini's message.</param>
    public sealed record Rejected(string Message) : GeminiOutcome;
}

/// <summary>The token counts of a 200 answer's <c>usageMetadata</c>; each null when the answer left it out.</summary>
/// <param name="PromptTokens"><c>promptTokenCount</c>: the input (text and images).</param>
/// <param name="CandidatesTokens"><c>candidatesTokenCount</c>: the output (text and images).</param>
/// <param name="TotalTokens"><c>totalTokenCount</c>.</param>
public sealed record GeminiUsage(int? PromptTokens, int? CandidatesTokens, int? TotalTokens);
