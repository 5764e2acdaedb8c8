using GenerationWorker.Grains.Jobs;

namespace GenerationWorker.Grains.Images;

/// <summary>What an <c>image_edit</c> job asks for, read from its payload.</summary>
/// <param name="Source">The reference of the image to edit.</param>
/// <param name="EditPrompt">The requested edit.</param>
/// <param name="Components">The component names of <c>referenceImages</c> the edit is restricted to (their images are
/// not sent).</param>
/// <param name="ImageSize">The size asked of the model: <c>settings.imageQuality</c>, 2K when absent (the app's default).</param>
/// <param name="PreviewOnly"><c>previewOnly</c> (default true): one preview image, no asset row.</param>
/// <param name="TempStoragePrefix">Where a preview goes (<c>tmp/edit-sessions/{client}/{session}/</c>), or null for a
/// data URL in the result.</param>
/// <param name="SessionId">The app's session, part of the storage key of a saved edit without a flow.</param>
/// <param name="ProductIds">The edited image's product (<c>productId</c>), linked to the asset of a saved edit.</param>
/// <param name="AssetSettingsJson">The <c>settings</c> written on the asset row of a saved edit.</param>
/// <remarks>The app sends <c>aspectRatio: "1:1"</c> with every edit; it is ignored, so an edit keeps the source image's
/// shape (no aspect ratio is sent to the model).</remarks>
public sealed record EditRequest(
    ImageReference Source,
    string EditPrompt,
    IReadOnlyList<string> Components,
    string ImageSize,
    bool PreviewOnly,
    string? TempStoragePrefix,
    string? SessionId,
    IReadOnlyList<string> ProductIds,
    string AssetSettingsJson)
{
    /// <summary>The size asked when the payload names none: the app's default quality.</summary>
    public const string DefaultImageSize = "2K";

    /// <summary>Reads an <c>image_edit</c> payload; null with the reason when the job cannot run.</summary>
    public static EditRequest? Parse(string payloadJson, out string? error)
    {
        using var document = PayloadReader.ParseObject(payloadJson, out error);
        if (document is null)
        {
            return null;
        }

        var root = document.RootElement;
        var reader = new PayloadReader();
        var sources = new List<ImageReference>();
        if (root.TryGetProperty("sourceImageUrl", out var source) && source.ValueKind == System.Text.Json.JsonValueKind.String)
        {
            reader.AddReference(root, "sourceImageUrl", sources);
        }
        else
        {
            reader.Error("'sourceImageUrl' is required");
        }

        var prompt = reader.Prompt(root, "editPrompt");
        var components = new List<string>();
        if (root.TryGetProperty("referenceImages", out var references) && references.ValueKind != System.Text.Json.JsonValueKind.Null)
        {
            if (references.ValueKind != System.Text.Json.JsonValueKind.Array)
            {
                reader.Error("'referenceImages' must be an array");
            }
            else
            {
                var index = 0;
                foreach (var reference in references.EnumerateArray())
                {
                    if (reference.ValueKind != System.Text.Json.JsonValueKind.Object)
                    {
                        reader.Error($"'referenceImages[{index}]' must be an object");
                    }
                    else if (reader.OptionalString(reference, "componentName", $"referenceImages[{index}].") is { } name)
                    {
                        components.Add(name);
                    }

                    index++;
                }
            }
        }

        var settings = reader.OptionalObject(root, "settings");
        var imageSize = settings is { } s ? ImageQuality.Read(s, reader) : null;
        var previewOnly = reader.OptionalBool(root, "previewOnly", absent: true);
        var prefix = reader.OptionalString(root, "tempStoragePrefix");
        var sessionId = reader.OptionalString(root, "sessionId");
        var productId = reader.OptionalString(root, "productId");
        if (reader.Failure is not null || prompt is null || sources.Count == 0)
        {
            error = reader.Failure;
            return null;
        }

        return new EditRequest(
            sources[0], prompt, components, imageSize ?? DefaultImageSize, previewOnly, prefix, sessionId,
            productId is null ? [] : [productId], AssetSettings.From(settings));
    }
}
