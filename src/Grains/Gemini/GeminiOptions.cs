namespace GenerationWorker.Grains.Gemini;

/// <summary>How the service reaches Gemini.</summary>
public sealed class GeminiOptions
{
    /// <summary><c>GEMINI_API_KEY</c>: the API key, sent in the <c>x-goog-api-key</c> header. Required.</summary>
    public string ApiKey { get; set; } = "";

    /// <summary><c>GEMINI_BASE_URL</c>: default <c>https://generativelanguage.googleapis.com</c>.</summary>
    public Uri BaseUrl { get; set; } = new("https://generativelanguage.googleapis.com");

    /// <summary><c>GEMINI_MODEL</c>: default <c>gemini-2.5-flash-image</c>.</summary>
    public string Model { get; set; } = "gemini-2.5-flash-image";

    /// <summary>
    /// <c>GEMINI_FALLBACK_MODEL</c>: used when the model answers 404 (or is overloaded), and by edits when the edit model
    /// fails or answers without an image; default <c>gemini-2.5-flash-image</c>.
    /// </summary>
    public string? FallbackModel { get; set; } = "gemini-2.5-flash-image";

    /// <summary><c>GEMINI_HIGH_RES_MODEL</c>: generates at 2K and 4K (<c>imageSize</c>); default <c>gemini-3-pro-image</c>.</summary>
    public string HighResModel { get; set; } = "gemini-3-pro-image";

    /// <summary><c>GEMINI_EDIT_MODEL</c>: edits images; default <c>gemini-3-pro-image</c>.</summary>
    public string EditModel { get; set; } = "gemini-3-pro-image";

    /// <summary><c>GEMINI_VIDEO_MODEL</c>: generates videos (Veo); default <c>veo-3.1-generate-preview</c>.</summary>
    public string VideoModel { get; set; } = "veo-3.1-generate-preview";

    /// <summary><c>VIDEO_POLL_SECONDS</c>: how often a started video operation is polled; default 10 s.</summary>
    public TimeSpan VideoPollInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary><c>VIDEO_TIMEOUT_MINUTES</c>: how long a video operation may run before the job gives up on it; default 30 min.</summary>
    public TimeSpan VideoTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// <c>GEMINI_PRICES</c>: what each model's requests cost, for the cost ledger; default
    /// <see cref="Cost.PriceTable.Defaults"/> (Google's list prices as of <see cref="Cost.PriceTable.DefaultsAsOf"/>).
    /// </summary>
    public Cost.PriceTable Prices { get; set; } = Cost.PriceTable.Defaults;

    /// <summary><c>GEMINI_TIMEOUT_SECONDS</c>: one request's time limit; default 300 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(300);

    /// <summary>
    /// <c>IMAGE_SPOOL_DIR</c>: where generated images larger than 1 MiB are decoded to, in temporary files deleted once
    /// the image is stored or given up; default null, the system's temporary directory (<c>TMPDIR</c>, else <c>/tmp</c>).
    /// </summary>
    public string? ImageSpoolDirectory { get; set; }
}
