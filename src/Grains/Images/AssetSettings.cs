using System.Text.Json;
using System.Text.Json.Nodes;

namespace GenerationWorker.Grains.Images;

/// <summary>The <c>settings</c> the app reads back from an asset row, taken from the job's payload.</summary>
public static class AssetSettings
{
    private static readonly string[] Copied = ["imageQuality", "promptTags", "customPrompt", "promptText"];

    /// <summary>
    /// <c>{aspectRatio, imageQuality, promptTags, customPrompt, promptText}</c> from the payload's settings, the aspect
    /// ratio <c>1:1</c> when absent and the other fields only when present, as JSON text.
    /// </summary>
    /// <param name="settings">The payload's <c>settings</c> object, or null.</param>
    public static string From(JsonElement? settings)
    {
        var result = new JsonObject();
        var ratio = settings is { } s && s.TryGetProperty("aspectRatio", out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
        result["aspectRatio"] = string.IsNullOrWhiteSpace(ratio) ? "1:1" : ratio;
        if (settings is { } present)
        {
            foreach (var name in Copied)
            {
                if (present.TryGetProperty(name, out var field) && field.ValueKind != JsonValueKind.Null)
                {
                    result[name] = JsonNode.Parse(field.GetRawText());
                }
            }
        }

        return result.ToJsonString();
    }
}
