using GenerationWorker.Grains.Configuration;

namespace GenerationWorker.Grains.Gemini;

/// <summary>How the service reaches Gemini. Each setting's variable, default and range are in <see cref="Settings"/>.</summary>
public sealed class GeminiOptions
{
    /// <summary><see cref="Settings.GeminiApiKey"/>: the API key, sent in the <c>x-goog-api-key</c> header. Required.</summary>
    public string ApiKey { get; set; } = "";

    /// <summary><see cref="Settings.GeminiBaseUrl"/>: where Gemini is called.</summary>
    public Uri BaseUrl { get; set; } = Settings.GeminiBaseUrl.Default;

    /// <summary><see cref="Settings.GeminiModel"/>: generates at 1K (or with no quality).</summary>
    public string Model { get; set; } = Settings.GeminiModel.Default;

    /// <summary>
    /// <see cref="Settings.GeminiFallbackModel"/>: used when the model answers 404 (or is overloaded), and by edits when
    /// the edit model fails or answers without an image.
    /// </summary>
    public string? FallbackModel { get; set; } = Settings.GeminiFallbackModel.Default;

    /// <summary><see cref="Settings.GeminiHighResModel"/>: generates at 2K and 4K (<c>imageSize</c>).</summary>
    public string HighResModel { get; set; } = Settings.GeminiHighResModel.Default;

    /// <summary><see cref="Settings.GeminiEditModel"/>: edits images.</summary>
    public string EditModel { get; set; } = Settings.GeminiEditModel.Default;

    /// <summary><see cref="Settings.GeminiVideoModel"/>: generates videos (Veo).</summary>
    public string VideoModel { get; set; } = Settings.GeminiVideoModel.Default;

    /// <summary><see cref="Settings.VideoPoll"/>: how often a started video operation is polled.</summary>
    public TimeSpan VideoPollInterval { get; set; } = Settings.VideoPoll.Default;

    /// <summary><see cref="Settings.VideoTimeout"/>: how long a video operation may run before the job gives up on it.</summary>
    public TimeSpan VideoTimeout { get; set; } = Settings.VideoTimeout.Default;

    /// <summary>
    /// <see cref="Settings.GeminiPrices"/>: what each model's requests cost, for the cost ledger; by default
    /// <see cref="Cost.PriceTable.Defaults"/> (Google's list prices as of <see cref="Cost.PriceTable.DefaultsAsOf"/>).
    /// </summary>
    public Cost.PriceTable Prices { get; set; } = Settings.GeminiPrices.Default;

    /// <summary><see cref="Settings.GeminiTimeout"/>: one request's time limit.</summary>
    public TimeSpan Timeout { get; set; } = Settings.GeminiTimeout.Default;

    /// <summary>
    /// <see cref="Settings.ImageSpoolDirectory"/>: where generated images larger than 1 MiB are decoded to, in temporary
    /// files deleted once the image is stored or given up; null: the system's temporary directory (<c>TMPDIR</c>, else
    /// <c>/tmp</c>).
    /// </summary>
    public string? ImageSpoolDirectory { get; set; } = Settings.ImageSpoolDirectory.Default;
}
