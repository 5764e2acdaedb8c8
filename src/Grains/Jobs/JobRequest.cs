using System.Text.Json;
using GenerationWorker.Grains.Gemini;

namespace GenerationWorker.Grains.Jobs;

/// <summary>What a job asks for, read from its type and payload.</summary>
/// <param name="Prompt">The text instruction (the edit prompt of an edit).</param>
/// <param name="Variants">How many images to make (1 to 8), one Gemini request each.</param>
/// <param name="AspectRatio">The aspect ratio, or null for the model's default.</param>
/// <param name="ImageSize">1K, 2K or 4K, or null for the model's default.</param>
/// <param name="ImageUrls">Images to send before the prompt: an edit's source image first, then references.</param>
/// <param name="Model">The payload's model override, or null.</param>
/// <param name="FallbackModel">The payload's fallback model override, or null.</param>
public sealed record JobRequest(
    string Prompt,
    int Variants,
    string? AspectRatio,
    string? ImageSize,
    IReadOnlyList<ImageReference> ImageUrls,
    string? Model,
    string? FallbackModel)
{
    /// <summary>The most variants one job may ask for.</summary>
    public const int MaxVariants = 8;

    /// <summary>The job types the service runs.</summary>
    public static readonly IReadOnlySet<string> Types = new HashSet<string>(StringComparer.Ordinal) { "image_generation", "image_edit" };

    /// <summary>Reads a job's type and payload (camelCase JSON, unknown fields ignored).</summary>
    /// <param name="type">The row's type.</param>
    /// <param name="payloadJson">The row's payload.</param>
    /// <param name="defaultModel">The model used unless the payload overrides it (the aspect ratio must suit it).</param>
    /// <returns>The request, or an error that says what is wrong with the job (it fails at once, no retry).</returns>
    public static JobRequestParse Parse(string type, string payloadJson, string defaultModel)
    {
        if (!Types.Contains(type))
        {
            return Error($"unknown job type '{Truncate(type)}' (expected image_generation or image_edit)");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(payloadJson);
        }
        catch (JsonException exception)
        {
            return Error($"payload is not valid JSON: {exception.Message}");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Error($"payload must be a JSON object, not {root.ValueKind.ToString().ToLowerInvariant()}");
            }

            return type == "image_edit" ? ParseEdit(root, defaultModel) : ParseGeneration(root, defaultModel);
        }
    }

    private static JobRequestParse ParseGeneration(JsonElement root, string defaultModel)
    {
        var errors = new List<string>();
        var prompt = RequiredString(root, "prompt", errors);
        var settings = OptionalObject(root, "settings", errors);
        var urls = new List<ImageReference>();
        AddUrls(root, "productImageUrls", urls, errors);
        AddUrls(root, "inspirationImageUrls", urls, errors);
        AddUrl(root, "inspirationImageUrl", urls, errors);
        var aspectRatio = settings is { } s ? OptionalString(s, "aspectRatio", "settings.", errors) : null;
        return Build(root, defaultModel, prompt, settings, aspectRatio, urls, errors);
    }

    private static JobRequestParse ParseEdit(JsonElement root, string defaultModel)
    {
        var errors = new List<string>();
        var urls = new List<ImageReference>();
        if (root.TryGetProperty("sourceImageUrl", out var source) && source.ValueKind == JsonValueKind.String)
        {
            AddUrl(root, "sourceImageUrl", urls, errors);
        }
        else
        {
            errors.Add("'sourceImageUrl' is required");
        }

        var prompt = RequiredString(root, "editPrompt", errors);
        if (root.TryGetProperty("referenceImages", out var references) && references.ValueKind != JsonValueKind.Null)
        {
            if (references.ValueKind != JsonValueKind.Array)
            {
                errors.Add("'referenceImages' must be an array");
            }
            else
            {
                var index = 0;
                foreach (var reference in references.EnumerateArray())
                {
                    if (reference.ValueKind != JsonValueKind.Object)
                    {
                        errors.Add($"'referenceImages[{index}]' must be an object with a url");
                    }
                    else
                    {
                        AddUrl(reference, "url", urls, errors, $"referenceImages[{index}].");
                    }

                    index++;
                }
            }
        }

        var settings = OptionalObject(root, "settings", errors);
        var aspectRatio = OptionalString(root, "aspectRatio", "", errors)
            ?? (settings is { } s ? OptionalString(s, "aspectRatio", "settings.", errors) : null);
        return Build(root, defaultModel, prompt, settings, aspectRatio, urls, errors);
    }

    private static JobRequestParse Build(
        JsonElement root, string defaultModel, string? prompt, JsonElement? settings, string? aspectRatio, List<ImageReference> urls, List<string> errors)
    {
        var variants = 1;
        string? imageSize = null;
        if (settings is { } s)
        {
            variants = ReadVariants(s, errors);
            var quality = OptionalString(s, "imageQuality", "settings.", errors);
            if (!GeminiImageSize.TryFromQuality(quality, out imageSize))
            {
                errors.Add($"settings.imageQuality '{Truncate(quality!)}' is not one of 1k, 2k, 4k");
            }
        }

        string? model = null, fallback = null;
        if (OptionalObject(root, "modelOverrides", errors) is { } overrides)
        {
            model = OptionalString(overrides, "imageModel", "modelOverrides.", errors);
            fallback = OptionalString(overrides, "fallbackImageModel", "modelOverrides.", errors);
        }

        var effectiveModel = model ?? defaultModel;
        if (!GeminiAspectRatios.IsValid(effectiveModel, aspectRatio))
        {
            errors.Add($"aspect ratio '{Truncate(aspectRatio!)}' is not one of {string.Join(", ", GeminiAspectRatios.For(effectiveModel))}");
        }

        // A model without a size option (gemini-2.5-flash-image) makes its one size: the quality is not sent to it.
        if (!GeminiImageSize.IsSupported(effectiveModel, imageSize))
        {
            imageSize = null;
        }

        if (errors.Count > 0 || prompt is null)
        {
            return new JobRequestParse(null, "invalid payload: " + string.Join("; ", errors));
        }

        return new JobRequestParse(new JobRequest(prompt, variants, aspectRatio, imageSize, urls, model, fallback), null);
    }

    private static int ReadVariants(JsonElement settings, List<string> errors)
    {
        if (!settings.TryGetProperty("numberOfVariants", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return 1;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var variants) || variants < 1 || variants > MaxVariants)
        {
            errors.Add($"settings.numberOfVariants must be a whole number from 1 to {MaxVariants} (got {Truncate(value.GetRawText())})");
            return 1;
        }

        return variants;
    }

    private static string? RequiredString(JsonElement element, string name, List<string> errors)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            errors.Add($"'{name}' is required");
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add($"'{name}' must be a string, not {value.ValueKind.ToString().ToLowerInvariant()}");
            return null;
        }

        if (string.IsNullOrWhiteSpace(value.GetString()))
        {
            errors.Add($"'{name}' must not be empty");
            return null;
        }

        return value.GetString();
    }

    private static string? OptionalString(JsonElement element, string name, string path, List<string> errors)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add($"'{path}{name}' must be a string");
            return null;
        }

        var text = value.GetString();
        return string.IsNullOrWhiteSpace(text) ? null : text;
    }

    private static JsonElement? OptionalObject(JsonElement element, string name, List<string> errors)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"'{name}' must be an object");
            return null;
        }

        return value;
    }

    private static void AddUrls(JsonElement element, string name, List<ImageReference> urls, List<string> errors)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return;
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            errors.Add($"'{name}' must be an array of URLs");
            return;
        }

        var index = 0;
        foreach (var item in value.EnumerateArray())
        {
            AddUrl(item, $"{name}[{index++}]", urls, errors);
        }
    }

    private static void AddUrl(JsonElement element, string name, List<ImageReference> urls, List<string> errors, string path = "")
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            if (!element.TryGetProperty(name, out var property) || property.ValueKind == JsonValueKind.Null)
            {
                if (path.Length > 0)
                {
                    errors.Add($"'{path}{name}' is required");
                }

                return;
            }

            element = property;
        }

        var text = element.ValueKind == JsonValueKind.String ? element.GetString() : null;
        if (text is null)
        {
            errors.Add($"'{path}{name}' must be an http(s) URL (got {Truncate(element.GetRawText())})");
            return;
        }

        if (!ImageReference.TryParse(text, out var reference, out var error))
        {
            // A data URL's contents are not worth echoing; anything else is shown (shortened) to say what was sent.
            errors.Add(text.StartsWith("data:", StringComparison.OrdinalIgnoreCase)
                ? $"'{path}{name}' {error}"
                : $"'{path}{name}' {error} (got {Truncate(element.GetRawText())})");
            return;
        }

        urls.Add(reference);
    }

    private static JobRequestParse Error(string message) => new(null, message);

    private static string Truncate(string text) => text.Length <= 60 ? text : text[..60] + "...";
}

/// <summary>The result of <see cref="JobRequest.Parse"/>: a request, or the reason the job is invalid.</summary>
/// <param name="Request">The request when the job is valid.</param>
/// <param name="Error">Why the job is invalid, otherwise.</param>
public sealed record JobRequestParse(JobRequest? Request, string? Error);
