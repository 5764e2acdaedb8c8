using System.Text.Json;

namespace GenerationWorker.GeminiEmulator;

/// <summary>A valid <c>predictLongRunning</c> body for a Veo model.</summary>
/// <param name="Model">The model id of the URL.</param>
/// <param name="Prompt">instances[0].prompt ("" when only an image was given).</param>
/// <param name="Image">instances[0].image: its MIME type and pixel size, or null for text-to-video.</param>
/// <param name="AspectRatio">parameters.aspectRatio, default 16:9.</param>
/// <param name="Resolution">parameters.resolution, default 720p.</param>
/// <param name="SampleCount">parameters.sampleCount, default 1.</param>
/// <param name="DurationSeconds">parameters.durationSeconds, default 8.</param>
internal sealed record VideoRequest(
    string Model, string Prompt, ReceivedPart? Image, string AspectRatio, string Resolution, int SampleCount, int DurationSeconds)
{
    /// <summary>The Veo models known by default.</summary>
    public static readonly IReadOnlyList<string> DefaultModels =
        ["veo-3.1-generate-preview", "veo-3.1-fast-generate-preview", "veo-3.0-generate-001", "veo-3.0-fast-generate-001"];

    private static readonly string[] AspectRatios = ["16:9", "9:16"];
    private static readonly string[] Resolutions = ["720p", "1080p"];
    private static readonly int[] Durations = [4, 6, 8];
    private static readonly HashSet<string> InstanceFields = new(["prompt", "image", "lastFrame", "referenceImages", "video"], StringComparer.Ordinal);
    private static readonly HashSet<string> ImageFields = new(["bytesBase64Encoded", "mimeType"], StringComparer.Ordinal);
    private static readonly HashSet<string> ParameterFields = new(
        ["aspectRatio", "resolution", "sampleCount", "durationSeconds", "negativePrompt", "personGeneration", "seed", "enhancePrompt", "generateAudio"],
        StringComparer.Ordinal);

    /// <summary>Validates a body the way the Veo endpoint does: 400 INVALID_ARGUMENT naming the problem.</summary>
    public static (VideoRequest? Request, ApiError? Error) Read(JsonElement root, string model)
    {
        try
        {
            return (Parse(root, model), null);
        }
        catch (InvalidVideoRequestException e)
        {
            return (null, ApiError.InvalidArgument(e.Message));
        }
    }

    private static VideoRequest Parse(JsonElement root, string model)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidVideoRequestException("Invalid JSON payload received. Unknown name \"\": Root element must be a message.");
        }

        JsonElement? instance = null;
        JsonElement? parameters = null;
        foreach (var property in root.EnumerateObject())
        {
            switch (property.Name)
            {
                case "instances":
                    if (property.Value.ValueKind != JsonValueKind.Array)
                    {
                        throw new InvalidVideoRequestException(
                            $"Invalid JSON payload received. Expected a list for 'instances', got {property.Value.GetRawText()}.");
                    }

                    if (property.Value.GetArrayLength() > 1)
                    {
                        throw new InvalidVideoRequestException("Only one instance is supported per request. Use parameters.sampleCount for more videos.");
                    }

                    instance = property.Value.GetArrayLength() == 1 ? property.Value[0] : null;
                    break;
                case "parameters":
                    parameters = property.Value;
                    break;
                default:
                    throw new InvalidVideoRequestException($"Invalid JSON payload received. Unknown name \"{property.Name}\": Cannot find field.");
            }
        }

        if (instance is not { ValueKind: JsonValueKind.Object } first)
        {
            throw new InvalidVideoRequestException("* PredictLongRunningRequest.instances: instances is not specified\n");
        }

        string? prompt = null;
        ReceivedPart? image = null;
        foreach (var property in first.EnumerateObject())
        {
            Known(property.Name, InstanceFields);
            if (property.Name == "prompt")
            {
                prompt = property.Value.ValueKind == JsonValueKind.String
                    ? property.Value.GetString()
                    : throw new InvalidVideoRequestException($"Invalid value at 'instances[0].prompt' (TYPE_STRING), {property.Value.GetRawText()}");
            }
            else if (property.Name == "image")
            {
                image = ReadImage(property.Value);
            }
        }

        if (string.IsNullOrWhiteSpace(prompt) && image is null)
        {
            throw new InvalidVideoRequestException("A prompt or an image is required: instances[0].prompt is empty and instances[0].image is absent.");
        }

        var (aspectRatio, resolution, samples, duration) = ("16:9", "720p", 1, 8);
        if (parameters is { } values)
        {
            if (values.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidVideoRequestException($"Invalid JSON payload received. Expected an object for 'parameters', got {values.GetRawText()}.");
            }

            foreach (var property in values.EnumerateObject())
            {
                Known(property.Name, ParameterFields);
                switch (property.Name)
                {
                    case "aspectRatio":
                        aspectRatio = OneOf(property.Value, AspectRatios, "aspect ratio", model);
                        break;
                    case "resolution":
                        resolution = OneOf(property.Value, Resolutions, "resolution", model);
                        break;
                    case "sampleCount":
                        samples = Integer(property.Value, "sample_count");
                        if (samples is < 1 or > 4)
                        {
                            throw new InvalidVideoRequestException($"Unsupported sampleCount {samples} for models/{model}. Supported values: 1 to 4.");
                        }

                        break;
                    case "durationSeconds":
                        duration = Integer(property.Value, "duration_seconds");
                        if (!Durations.Contains(duration))
                        {
                            throw new InvalidVideoRequestException(
                                $"Unsupported durationSeconds {duration} for models/{model}. Supported values: {string.Join(", ", Durations)}.");
                        }

                        break;
                }
            }
        }

        return new VideoRequest(model, prompt ?? "", image, aspectRatio, resolution, samples, duration);
    }

    private static ReceivedPart ReadImage(JsonElement image)
    {
        if (image.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidVideoRequestException($"Invalid JSON payload received. Expected an object for 'instances[0].image', got {image.GetRawText()}.");
        }

        string? mimeType = null;
        byte[]? bytes = null;
        foreach (var property in image.EnumerateObject())
        {
            Known(property.Name, ImageFields);
            if (property.Value.ValueKind != JsonValueKind.String)
            {
                throw new InvalidVideoRequestException($"Invalid value at 'instances[0].image.{property.Name}' (TYPE_STRING), {property.Value.GetRawText()}");
            }

            if (property.Name == "mimeType")
            {
                mimeType = property.Value.GetString();
            }
            else if (!property.Value.TryGetBytesFromBase64(out bytes))
            {
                throw new InvalidVideoRequestException("Invalid value at 'instances[0].image.bytes_base64_encoded' (TYPE_BYTES), Base64 decoding failed.");
            }
        }

        if (bytes is null || bytes.Length == 0)
        {
            throw new InvalidVideoRequestException("instances[0].image.bytesBase64Encoded is required: Veo takes inline image bytes.");
        }

        if (mimeType is not ("image/png" or "image/jpeg" or "image/webp"))
        {
            throw new InvalidVideoRequestException($"Unsupported MIME type: {mimeType ?? "(none)"}. Supported values: image/png, image/jpeg, image/webp.");
        }

        if (!ImageHeader.TryReadSize(bytes, out var width, out var height))
        {
            throw new InvalidVideoRequestException(
                "Unable to process input image. Please retry or report in https://developers.generativeai.google/guide/troubleshooting");
        }

        return new ReceivedPart(ReceivedPart.ImageKind, null, mimeType, width, height);
    }

    private static void Known(string name, HashSet<string> known)
    {
        if (!known.Contains(name))
        {
            throw new InvalidVideoRequestException(
                $"`{name}` isn't supported by this model. Please remove it or refer to the Gemini API documentation for supported usage.");
        }
    }

    private static string OneOf(JsonElement value, string[] allowed, string what, string model)
    {
        var text = value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();
        return allowed.Contains(text, StringComparer.Ordinal)
            ? text
            : throw new InvalidVideoRequestException(
                $"Unsupported {what} \"{text}\" for models/{model}. Supported values: {string.Join(", ", allowed)}.");
    }

    private static int Integer(JsonElement value, string field) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number)
            ? number
            : throw new InvalidVideoRequestException($"Invalid value at 'parameters.{field}' (TYPE_INT32), {value.GetRawText()}");

    private sealed class InvalidVideoRequestException(string message) : Exception(message);
}
