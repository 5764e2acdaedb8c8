using System.Text.Json;

namespace GenerationWorker.Grains.Jobs;

/// <summary>
/// Reads the fields of a job's payload (camelCase JSON written by the app, unknown fields ignored), collecting every
/// problem as a message that names the field, so a bad job fails once with all of them.
/// </summary>
public sealed class PayloadReader
{
    /// <summary>The most reference images one job may name: 16 (a job naming more fails at once, without a download).</summary>
    public const int MaxReferenceImages = 16;

    /// <summary>The longest prompt accepted, in characters: 20,000.</summary>
    public const int MaxPromptLength = 20_000;

    private readonly List<string> _errors = [];
    private int _unread;

    /// <summary>What is wrong with the payload so far; empty when nothing is.</summary>
    public IReadOnlyList<string> Errors => _errors;

    /// <summary>Records a problem the caller found itself.</summary>
    public void Error(string message) => _errors.Add(message);

    /// <summary>The error a job fails with: every problem found, or null when there is none.</summary>
    public string? Failure => _errors.Count == 0 ? null : "invalid payload: " + string.Join("; ", _errors);

    /// <summary>Parses a payload that must be a JSON object; null with an error when it is not.</summary>
    public static JsonDocument? ParseObject(string payloadJson, out string? error)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(payloadJson);
        }
        catch (JsonException exception)
        {
            error = $"payload is not valid JSON: {exception.Message}";
            return null;
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            error = $"payload must be a JSON object, not {document.RootElement.ValueKind.ToString().ToLowerInvariant()}";
            document.Dispose();
            return null;
        }

        error = null;
        return document;
    }

    /// <summary>A required, non-blank string.</summary>
    public string? RequiredString(JsonElement element, string name)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            _errors.Add($"'{name}' is required");
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            _errors.Add($"'{name}' must be a string, not {value.ValueKind.ToString().ToLowerInvariant()}");
            return null;
        }

        if (string.IsNullOrWhiteSpace(value.GetString()))
        {
            _errors.Add($"'{name}' must not be empty");
            return null;
        }

        return value.GetString();
    }

    /// <summary>A required, non-blank prompt of at most <see cref="MaxPromptLength"/> characters.</summary>
    public string? Prompt(JsonElement element, string name)
    {
        var prompt = RequiredString(element, name);
        if (prompt is { Length: > MaxPromptLength })
        {
            _errors.Add($"'{name}' is {prompt.Length} characters long; at most {MaxPromptLength} are accepted");
            return null;
        }

        return prompt;
    }

    /// <summary>
    /// Records an error when a job names more than <see cref="MaxReferenceImages"/> reference images: the
    /// <paramref name="count"/> read, plus those of arrays left unread because they could not fit.
    /// </summary>
    public void LimitReferences(int count)
    {
        if (count + _unread > MaxReferenceImages)
        {
            _errors.Add($"the job names {count + _unread} reference images; at most {MaxReferenceImages} are accepted");
        }
    }

    /// <summary>An optional string; null when absent, null or blank.</summary>
    /// <param name="element">The object holding the field.</param>
    /// <param name="name">The field's name.</param>
    /// <param name="path">The object's path in the payload, for messages (<c>settings.</c>), or empty.</param>
    public string? OptionalString(JsonElement element, string name, string path = "")
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            _errors.Add($"'{path}{name}' must be a string");
            return null;
        }

        var text = value.GetString();
        return string.IsNullOrWhiteSpace(text) ? null : text;
    }

    /// <summary>An optional boolean; <paramref name="absent"/> when absent or null.</summary>
    public bool OptionalBool(JsonElement element, string name, bool absent)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return absent;
        }

        if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            _errors.Add($"'{name}' must be true or false");
            return absent;
        }

        return value.GetBoolean();
    }

    /// <summary>An optional object; null when absent or null.</summary>
    public JsonElement? OptionalObject(JsonElement element, string name)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            _errors.Add($"'{name}' must be an object");
            return null;
        }

        return value;
    }

    /// <summary>An optional array of strings (ids); empty when absent. Blank entries are skipped.</summary>
    public IReadOnlyList<string> OptionalStrings(JsonElement element, string name)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(item => item.ValueKind != JsonValueKind.String))
        {
            _errors.Add($"'{name}' must be an array of strings");
            return [];
        }

        return [.. value.EnumerateArray().Select(item => item.GetString()!).Where(text => !string.IsNullOrWhiteSpace(text))];
    }

    /// <summary>The image references of an array field (URLs, data: URLs or app-relative paths).</summary>
    public void AddReferences(JsonElement element, string name, List<ImageReference> references)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return;
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            _errors.Add($"'{name}' must be an array of URLs");
            return;
        }

        // An array that cannot fit is counted, not read: its data URLs are never decoded.
        if (references.Count + value.GetArrayLength() > MaxReferenceImages)
        {
            _unread += value.GetArrayLength();
            return;
        }

        var index = 0;
        foreach (var item in value.EnumerateArray())
        {
            AddReference(item, $"{name}[{index++}]", references);
        }
    }

    /// <summary>
    /// The image reference (a URL, a data: URL or an app path) of a field: <paramref name="element"/> is the object holding <paramref name="name"/>, or the
    /// value itself. Absent is fine unless <paramref name="path"/> is set (a field of an array's object).
    /// </summary>
    public void AddReference(JsonElement element, string name, List<ImageReference> references, string path = "")
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            if (!element.TryGetProperty(name, out var property) || property.ValueKind == JsonValueKind.Null)
            {
                if (path.Length > 0)
                {
                    _errors.Add($"'{path}{name}' is required");
                }

                return;
            }

            element = property;
        }

        var text = element.ValueKind == JsonValueKind.String ? element.GetString() : null;
        if (text is null)
        {
            _errors.Add($"'{path}{name}' must be an http(s) URL (got {Truncate(element.GetRawText())})");
            return;
        }

        if (!ImageReference.TryParse(text, out var reference, out var error))
        {
            // A data URL's contents are not worth echoing; anything else is shown (shortened) to say what was sent.
            _errors.Add(text.StartsWith("data:", StringComparison.OrdinalIgnoreCase)
                ? $"'{path}{name}' {error}"
                : $"'{path}{name}' {error} (got {Truncate(element.GetRawText())})");
            return;
        }

        references.Add(reference!);
    }

    /// <summary>Shortens a payload value for an error message.</summary>
    public static string Truncate(string text) => text.Length <= 60 ? text : text[..60] + "...";
}
