using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using GenerationWorker.Grains.Jobs;

namespace GenerationWorker.Grains.Videos;

/// <summary>What a <c>video_generation</c> job asks for, read from its payload.</summary>
/// <param name="Prompt">The user's prompt, as the payload gives it.</param>
/// <param name="SourceImage">The first frame (<c>sourceImageUrl</c>), or null for a video from the prompt alone.</param>
/// <param name="AspectRatio"><c>settings.aspectRatio</c>: 16:9 (default) or 9:16.</param>
/// <param name="Resolution"><c>settings.resolution</c>: 720p, 1080p, or null for the model's default.</param>
/// <param name="Model"><c>settings.model</c>, or null for <c>GEMINI_VIDEO_MODEL</c>.</param>
/// <param name="SessionId">The app's session, part of the storage key when the job has no flow.</param>
/// <param name="ProductIds">The products the video shows, linked to its asset.</param>
/// <param name="AssetSettingsJson">The <c>settings</c> written on the asset row.</param>
public sealed record VideoRequest(
    string Prompt,
    ImageReference? SourceImage,
    string AspectRatio,
    string? Resolution,
    string? Model,
    string? SessionId,
    IReadOnlyList<string> ProductIds,
    string AssetSettingsJson)
{
    /// <summary>The block a prompt starts with when it already carries its guidelines (then it is sent as is).</summary>
    public const string GuidelinesHeader = "SYSTEM GUIDELINES:";

    /// <summary>The guidelines sent before a user's prompt.</summary>
    public const string Guidelines = GuidelinesHeader + """

        - Make a high-end commercial product video.
        - Keep the product's shape, materials, colours and branding exactly as in the source image.
        - Keep the background and the lighting consistent, without flicker.
        - One continuous shot with smooth, physically plausible motion.
        - Keep the product in frame and in focus.
        - Add or remove nothing unless the prompt asks for it.
        - Follow the settings below.
        """;

    private static readonly string[] AspectRatios = ["16:9", "9:16"];

    private static readonly string[] Resolutions = ["720p", "1080p"];

    /// <summary>
    /// The prompt sent to Veo: as is when it starts with <see cref="GuidelinesHeader"/>; otherwise the guidelines, the
    /// settings and the user's prompt.
    /// </summary>
    public string VeoPrompt()
    {
        if (Prompt.TrimStart().StartsWith(GuidelinesHeader, StringComparison.Ordinal))
        {
            return Prompt;
        }

        var text = new StringBuilder(Guidelines).Append("\n\nSettings:\nAspect ratio: ").Append(AspectRatio).Append('\n');
        if (Resolution is not null)
        {
            text.Append("Resolution: ").Append(Resolution).Append('\n');
        }

        return text.Append("\nUser prompt:\n").Append(Prompt).ToString();
    }

    /// <summary>Reads a <c>video_generation</c> payload; null with the reason when the job cannot run.</summary>
    public static VideoRequest? Parse(string payloadJson, out string? error)
    {
        using var document = PayloadReader.ParseObject(payloadJson, out error);
        if (document is null)
        {
            return null;
        }

        var root = document.RootElement;
        var reader = new PayloadReader();
        var prompt = reader.RequiredString(root, "prompt");
        var sources = new List<ImageReference>();
        reader.AddReference(root, "sourceImageUrl", sources);
        string? aspectRatio = null, resolution = null, model = null;
        var settings = reader.OptionalObject(root, "settings");
        if (settings is { } s)
        {
            aspectRatio = reader.OptionalString(s, "aspectRatio", "settings.");
            resolution = reader.OptionalString(s, "resolution", "settings.");
            model = reader.OptionalString(s, "model", "settings.");
        }

        aspectRatio ??= "16:9";
        if (!AspectRatios.Contains(aspectRatio))
        {
            reader.Error($"settings.aspectRatio '{PayloadReader.Truncate(aspectRatio)}' is not one of {string.Join(", ", AspectRatios)}");
        }

        if (resolution is not null && !Resolutions.Contains(resolution))
        {
            reader.Error($"settings.resolution '{PayloadReader.Truncate(resolution)}' is not one of {string.Join(", ", Resolutions)}");
        }

        var sessionId = reader.OptionalString(root, "sessionId");
        var productIds = reader.OptionalStrings(root, "productIds");
        if (reader.Failure is not null || prompt is null)
        {
            error = reader.Failure;
            return null;
        }

        return new VideoRequest(
            prompt, sources.FirstOrDefault(), aspectRatio, resolution, model, sessionId, productIds,
            AssetSettingsFrom(settings, aspectRatio));
    }

    /// <summary>The payload's settings with the aspect ratio the video was made at.</summary>
    private static string AssetSettingsFrom(JsonElement? settings, string aspectRatio)
    {
        var result = settings is { } s ? JsonNode.Parse(s.GetRawText())!.AsObject() : [];
        result["aspectRatio"] = aspectRatio;
        return result.ToJsonString();
    }
}
