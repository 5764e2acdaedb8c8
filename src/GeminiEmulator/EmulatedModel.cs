using System.Collections.Frozen;

namespace GenerationWorker.GeminiEmulator;

/// <summary>What one emulated model accepts, derived from its id the way Google documents the image models.</summary>
/// <param name="Name">The model id, for example <c>gemini-2.5-flash-image</c>.</param>
/// <param name="AspectRatios">The accepted <c>imageConfig.aspectRatio</c> values.</param>
/// <param name="ImageSizes">The accepted <c>imageConfig.imageSize</c> values; empty for a model without a size option,
/// which refuses the field whatever its value.</param>
/// <param name="ThinksInImages">True for Gemini 3 models, which may send interim <c>thought</c> images.</param>
/// <param name="Resolutions">The published pixel size per aspect ratio and image size (key <c>"16:9/2K"</c>).</param>
public sealed record EmulatedModel(
    string Name,
    IReadOnlySet<string> AspectRatios,
    IReadOnlySet<string> ImageSizes,
    bool ThinksInImages,
    IReadOnlyDictionary<string, (int Width, int Height)> Resolutions)
{
    /// <summary>Preview ids shut down on 2026-06-25: they answer 404 NOT_FOUND like any unknown model, even when
    /// listed in <c>EMULATOR_MODELS</c>.</summary>
    public static readonly IReadOnlySet<string> RetiredModels =
        new HashSet<string>(["gemini-3-pro-image-preview", "gemini-3.1-flash-image-preview"], StringComparer.Ordinal);

    private static readonly string[] CommonRatios = ["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"];
    private static readonly string[] ExtraFlashRatios = ["1:4", "4:1", "1:8", "8:1"];

    // Google's published output sizes (ai.google.dev, image generation, "aspect ratios and image size").
    private static readonly FrozenDictionary<string, (int, int)> Flash25 = Table(
        [
            ("1:1", [(1024, 1024)]), ("2:3", [(832, 1248)]), ("3:2", [(1248, 832)]), ("3:4", [(864, 1184)]),
            ("4:3", [(1184, 864)]), ("4:5", [(896, 1152)]), ("5:4", [(1152, 896)]), ("9:16", [(768, 1344)]),
            ("16:9", [(1344, 768)]), ("21:9", [(1536, 672)]),
        ],
        "1K");

    // Gemini 3 Pro Image and 3.1 Flash Image share the 1K/2K/4K sizes of the common ratios; 512 is half of 1K.
    private static readonly (string Ratio, (int, int)[] Sizes)[] Gemini3Rows =
    [
        ("1:1", [(512, 512), (1024, 1024), (2048, 2048), (4096, 4096)]),
        ("2:3", [(424, 632), (848, 1264), (1696, 2528), (3392, 5056)]),
        ("3:2", [(632, 424), (1264, 848), (2528, 1696), (5056, 3392)]),
        ("3:4", [(448, 600), (896, 1200), (1792, 2400), (3584, 4800)]),
        ("4:3", [(600, 448), (1200, 896), (2400, 1792), (4800, 3584)]),
        ("4:5", [(464, 576), (928, 1152), (1856, 2304), (3712, 4608)]),
        ("5:4", [(576, 464), (1152, 928), (2304, 1856), (4608, 3712)]),
        ("9:16", [(384, 688), (768, 1376), (1536, 2752), (3072, 5504)]),
        ("16:9", [(688, 384), (1376, 768), (2752, 1536), (5504, 3072)]),
        ("21:9", [(792, 336), (1584, 672), (3168, 1344), (6336, 2688)]),
        ("1:4", [(256, 1024), (512, 2048), (1024, 4096), (2048, 8192)]),
        ("4:1", [(1024, 256), (2048, 512), (4096, 1024), (8192, 2048)]),
        ("1:8", [(192, 1536), (384, 3072), (768, 6144), (1536, 12288)]),
        ("8:1", [(1536, 192), (3072, 384), (6144, 768), (12288, 1536)]),
    ];

    private static readonly FrozenDictionary<string, (int, int)> Gemini3 = Table(Gemini3Rows, "512", "1K", "2K", "4K");

    /// <summary>The capabilities of <paramref name="name"/>.</summary>
    /// <remarks>
    /// 3.1 Flash models add the tall and wide ratios; only <c>gemini-3.1-flash-image</c> takes "512"; "lite" models
    /// take 1K only; <c>gemini-2.*</c> has no size option at all.
    /// </remarks>
    public static EmulatedModel For(string name)
    {
        var isFlash31 = name.StartsWith("gemini-3.1-flash", StringComparison.Ordinal);
        var isLite = name.Contains("lite", StringComparison.Ordinal);
        var isGemini2 = name.StartsWith("gemini-2.", StringComparison.Ordinal);
        var ratios = isFlash31 ? [.. CommonRatios, .. ExtraFlashRatios] : CommonRatios;
        string[] sizes = isGemini2 ? [] : isLite ? ["1K"] : isFlash31 ? ["512", "1K", "2K", "4K"] : ["1K", "2K", "4K"];
        return new EmulatedModel(
            name,
            new HashSet<string>(ratios, StringComparer.Ordinal),
            new HashSet<string>(sizes, StringComparer.Ordinal),
            ThinksInImages: name.StartsWith("gemini-3", StringComparison.Ordinal),
            isGemini2 ? Flash25 : Gemini3);
    }

    /// <summary>The size this model renders when asked for <paramref name="imageSize"/> (null: its default, 1K).</summary>
    public string EffectiveImageSize(string? imageSize) => ImageSizes.Count == 0 ? "1K" : imageSize ?? "1K";

    /// <summary>The published pixel size of an answer in <paramref name="aspectRatio"/> at <paramref name="imageSize"/>
    /// ("512", "1K", "2K" or "4K"; models without a size option always render their one size).</summary>
    public (int Width, int Height) RealSize(string aspectRatio, string imageSize) =>
        Resolutions.TryGetValue(aspectRatio + "/" + (ImageSizes.Count == 0 ? "1K" : imageSize), out var size)
            ? size
            : throw new ArgumentException($"No published size for {aspectRatio} at {imageSize}.", nameof(aspectRatio));

    /// <summary>The supported ratio nearest to <paramref name="width"/>:<paramref name="height"/> (by the logarithm of
    /// width/height, so 2:1 is as far from 1:1 as 1:2 is); ties go to the squarer ratio.</summary>
    public string NearestRatio(int width, int height)
    {
        var target = Math.Log((double)width / height);
        return AspectRatios
            .OrderBy(ratio => Math.Abs(Math.Log(Value(ratio)) - target))
            .ThenBy(ratio => Math.Abs(Math.Log(Value(ratio))))
            .First();
    }

    private static double Value(string ratio)
    {
        var colon = ratio.IndexOf(':', StringComparison.Ordinal);
        return double.Parse(ratio.AsSpan(0, colon), provider: null) / double.Parse(ratio.AsSpan(colon + 1), provider: null);
    }

    private static FrozenDictionary<string, (int, int)> Table((string Ratio, (int, int)[] Sizes)[] rows, params string[] sizeNames)
    {
        var table = new Dictionary<string, (int, int)>(StringComparer.Ordinal);
        foreach (var (ratio, sizes) in rows)
        {
            for (var i = 0; i < sizeNames.Length; i++)
            {
                table[ratio + "/" + sizeNames[i]] = sizes[i];
            }
        }

        return table.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
