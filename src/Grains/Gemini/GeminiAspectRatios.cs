namespace GenerationWorker.Grains.Gemini;

/// <summary>The aspect ratios each Gemini image model accepts in <c>imageConfig.aspectRatio</c>.</summary>
public static class GeminiAspectRatios
{
    /// <summary>The ratios every Gemini image model accepts.</summary>
    public static IReadOnlySet<string> Common { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9",
    };

    /// <summary>The ratios of gemini-3.1-flash-image: the common ones plus the extreme 1:4, 4:1, 1:8 and 8:1.</summary>
    public static IReadOnlySet<string> Flash31 { get; } = new HashSet<string>(Common, StringComparer.Ordinal)
    {
        "1:4", "4:1", "1:8", "8:1",
    };

    /// <summary>The ratios <paramref name="model"/> accepts (unknown models get <see cref="Common"/>).</summary>
    /// <param name="model">The model id, for example <c>gemini-3.1-flash-image</c>.</param>
    /// <returns>The accepted ratios.</returns>
    public static IReadOnlySet<string> For(string model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.StartsWith("gemini-3.1-flash-image", StringComparison.Ordinal) ? Flash31 : Common;
    }

    /// <summary>True when <paramref name="model"/> accepts <paramref name="ratio"/>.</summary>
    /// <param name="model">The model id.</param>
    /// <param name="ratio">A ratio such as <c>16:9</c> (exact spelling), or null for the model's default (always valid).</param>
    /// <returns>Whether a request may carry this aspect ratio.</returns>
    public static bool IsValid(string model, string? ratio) => ratio is null || For(model).Contains(ratio);
}
