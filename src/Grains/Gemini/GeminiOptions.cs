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

    /// <summary><c>GEMINI_HIGH_RES_MODEL</c>: generations at 2K and 4K; default <c>gemini-3-pro-image</c>.</summary>
    public string HighResModel { get; set; } = "gemini-3-pro-image";

    /// <summary><c>GEMINI_EDIT_MODEL</c>: edits; default <c>gemini-3-pro-image</c>.</summary>
    public string EditModel { get; set; } = "gemini-3-pro-image";

    /// <summary><c>GEMINI_FALLBACK_MODEL</c>: used when the model answers 404 (or is overloaded); default none.</summary>
    public string? FallbackModel { get; set; }

    /// <summary><c>GEMINI_TIMEOUT_SECONDS</c>: one request's time limit; default 300 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(300);

    /// <summary>
    /// <c>IMAGE_SPOOL_DIR</c>: where generated images larger than 1 MiB are decoded to, in temporary files deleted once
    /// the image is stored or given up; default null, the system's temporary directory (<c>TMPDIR</c>, else <c>/tmp</c>).
    /// </summary>
    public string? ImageSpoolDirectory { get; set; }
}
