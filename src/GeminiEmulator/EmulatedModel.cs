namespace GenerationWorker.GeminiEmulator;

/// <summary>What one emulated model accepts, derived from its id the way Google documents the image models.</summary>
/// <param name="Name">The model id, for example <c>gemini-2.5-flash-image</c>.</param>
/// <param name="AspectRatios">The accepted <c>imageConfig.aspectRatio</c> values.</param>
/// <param name="ImageSizes">The accepted <c>imageConfig.imageSize</c> values.</param>
/// <param name="HonoursImageSize">False for models without a size option: the value is validated, then ignored (1K).</param>
/// <param name="ThinksInImages">True for Gemini 3 models, which may send interim <c>thought</c> images.</param>
public sealed record EmulatedModel(
    string Name,
    IReadOnlySet<string> AspectRatios,
    IReadOnlySet<string> ImageSizes,
    bool HonoursImageSize,
    bool ThinksInImages)
{
    private static readonly string[] CommonRatios = ["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"];
    private static readonly string[] ExtraFlashRatios = ["1:4", "4:1", "1:8", "8:1"];

    /// <summary>The capabilities of <paramref name="name"/>.</summary>
    /// <remarks>
    /// 3.1 Flash models add the tall and wide ratios; only <c>gemini-3.1-flash-image</c> takes "512"; "lite" models
    /// render 1K only; <c>gemini-2.5-*</c> has no size option.
    /// </remarks>
    public static EmulatedModel For(string name)
    {
        var isFlash31 = name.StartsWith("gemini-3.1-flash", StringComparison.Ordinal);
        var isLite = name.Contains("lite", StringComparison.Ordinal);
        var ratios = isFlash31 ? [.. CommonRatios, .. ExtraFlashRatios] : CommonRatios;
        string[] sizes = isLite ? ["1K"] : isFlash31 ? ["512", "1K", "2K", "4K"] : ["1K", "2K", "4K"];
        return new EmulatedModel(
            name,
            new HashSet<string>(ratios, StringComparer.Ordinal),
            new HashSet<string>(sizes, StringComparer.Ordinal),
            HonoursImageSize: !name.StartsWith("gemini-2.", StringComparison.Ordinal),
            ThinksInImages: name.StartsWith("gemini-3", StringComparison.Ordinal));
    }
}
