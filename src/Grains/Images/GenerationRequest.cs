using System.Text.Json;
using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Jobs;

namespace GenerationWorker.Grains.Images;

/// <summary>What an <c>image_generation</c> job asks for, read from its payload.</summary>
/// <param name="Prompt">The text instruction, sent last.</param>
/// <param name="Variants">How many images to make (1 to 8), one Gemini request each.</param>
/// <param name="AspectRatio">The aspect ratio, or null for the model's default.</param>
/// <param name="ImageSize">1K, 2K or 4K from <c>settings.imageQuality</c>, or null when none was asked.</param>
/// <param name="ProductImages">Product image references, sent first.</param>
/// <param name="InspirationImages">Inspiration image references, sent after the products.</param>
/// <param name="ModelOverride"><c>modelOverrides.imageModel</c>, or null.</param>
/// <param name="FallbackOverride"><c>modelOverrides.fallbackImageModel</c>, or null.</param>
/// <param name="SessionId">The app's session, part of the storage key when the job has no flow.</param>
/// <param name="ProductIds">The products the images show, linked to every asset.</param>
/// <param name="AssetSettingsJson">The <c>settings</c> written on each asset row.</param>
public sealed record GenerationRequest(
    string Prompt,
    int Variants,
    string? AspectRatio,
    string? ImageSize,
    IReadOnlyList<ImageReference> ProductImages,
    IReadOnlyList<ImageReference> InspirationImages,
    string? ModelOverride,
    string? FallbackOverride,
    string? SessionId,
    IReadOnlyList<string> ProductIds,
    string AssetSettingsJson)
{
    /// <summary>The most variants one job may ask for.</summary>
    public const int MaxVariants = 8;

    /// <summary>Reads an <c>image_generation</c> payload; null with the reason when the job cannot run.</summary>
    public static GenerationRequest? Parse(string payloadJson, out string? error)
    {
        using var document = PayloadReader.ParseObject(payloadJson, out error);
        if (document is null)
        {
            return null;
        }

        var root = document.RootElement;
        var reader = new PayloadReader();
        var prompt = reader.Prompt(root, "prompt");
        var settings = reader.OptionalObject(root, "settings");
        var products = new List<ImageReference>();
        var inspirations = new List<ImageReference>();
        reader.AddReferences(root, "productImageUrls", products);
        reader.AddReferences(root, "inspirationImageUrls", inspirations);
        reader.AddReference(root, "inspirationImageUrl", inspirations);
        reader.LimitReferences(products.Count + inspirations.Count);
        var variants = 1;
        string? aspectRatio = null, imageSize = null;
        if (settings is { } s)
        {
            variants = ReadVariants(s, reader);
            aspectRatio = reader.OptionalString(s, "aspectRatio", "settings.");
            imageSize = ImageQuality.Read(s, reader);
        }

        if (!GeminiAspectRatios.Flash31.Contains(aspectRatio ?? "1:1"))
        {
            reader.Error($"aspect ratio '{PayloadReader.Truncate(aspectRatio!)}' is not one of {string.Join(", ", GeminiAspectRatios.Common)}");
        }

        string? model = null, fallback = null;
        if (reader.OptionalObject(root, "modelOverrides") is { } overrides)
        {
            model = reader.OptionalString(overrides, "imageModel", "modelOverrides.");
            fallback = reader.OptionalString(overrides, "fallbackImageModel", "modelOverrides.");
        }

        var sessionId = reader.OptionalString(root, "sessionId");
        var productIds = reader.OptionalStrings(root, "productIds");
        if (reader.Failure is { } failure || prompt is null)
        {
            error = reader.Failure;
            return null;
        }

        return new GenerationRequest(
            prompt, variants, aspectRatio, imageSize, products, inspirations, model, fallback, sessionId, productIds,
            AssetSettings.From(settings));
    }

    private static int ReadVariants(JsonElement settings, PayloadReader reader)
    {
        if (!settings.TryGetProperty("numberOfVariants", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return 1;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var variants) || variants < 1 || variants > MaxVariants)
        {
            reader.Error($"settings.numberOfVariants must be a whole number from 1 to {MaxVariants} (got {PayloadReader.Truncate(value.GetRawText())})");
            return 1;
        }

        return variants;
    }
}

/// <summary>Reads <c>settings.imageQuality</c> (1k, 2k, 4k, any case) as Gemini's imageSize.</summary>
public static class ImageQuality
{
    /// <summary>1K, 2K, 4K, or null when absent; an unknown value is recorded as an error.</summary>
    public static string? Read(JsonElement settings, PayloadReader reader)
    {
        var quality = reader.OptionalString(settings, "imageQuality", "settings.");
        if (!GeminiImageSize.TryFromQuality(quality, out var imageSize))
        {
            reader.Error($"settings.imageQuality '{PayloadReader.Truncate(quality!)}' is not one of 1k, 2k, 4k");
        }

        return imageSize;
    }
}
