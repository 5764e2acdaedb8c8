using System.Text.Json.Serialization;

namespace GenerationWorker.Grains.Gemini;

// The JSON shapes of generateContent (v1beta), named after the API's own messages. Only the members the service reads
// or writes are declared; everything else in a response is ignored. A 200 answer is read by GenerateContentReader,
// which streams its image data instead of deserializing it. Enums (finishReason, blockReason, status) stay
// strings because Google adds values without notice.

/// <summary>The body of <c>POST /v1beta/models/{model}:generateContent</c>.</summary>
internal sealed record GenerateContentRequest(IReadOnlyList<Content> Contents, GenerationConfig GenerationConfig);

/// <summary>One turn of the conversation: the user's parts in a request, the model's parts in a response.</summary>
internal sealed record Content(string? Role, IReadOnlyList<Part>? Parts);

/// <summary>A text or inline-data part. <see cref="Thought"/> marks a Gemini 3 interim ("thinking") part.</summary>
internal sealed record Part(
    string? Text = null,
    Blob? InlineData = null,
    bool? Thought = null,
    string? ThoughtSignature = null);

/// <summary>Inline bytes; System.Text.Json reads and writes <see cref="Data"/> as base64.</summary>
internal sealed record Blob(string? MimeType, byte[]? Data);

/// <summary>generationConfig: always IMAGE only, with an optional image configuration.</summary>
internal sealed record GenerationConfig(IReadOnlyList<string> ResponseModalities, ImageConfig? ImageConfig);

/// <summary>imageConfig: each member is omitted when null so the model's default applies.</summary>
internal sealed record ImageConfig(string? AspectRatio, string? ImageSize);

/// <summary>The error envelope of every non-200 answer: <c>{"error":{...}}</c>.</summary>
internal sealed record ErrorEnvelope(ErrorBody? Error);

/// <summary>google.rpc.Status as JSON.</summary>
internal sealed record ErrorBody(int? Code, string? Message, string? Status, IReadOnlyList<ErrorDetail>? Details);

/// <summary>
/// One entry of <c>details</c>. The entries are distinguished by <c>@type</c> (ErrorInfo, RetryInfo, QuotaFailure,
/// Help, DebugInfo...); this flat record holds the members of the ones the service reads.
/// </summary>
internal sealed record ErrorDetail(
    [property: JsonPropertyName("@type")] string? Type,
    string? Reason,
    string? RetryDelay,
    IReadOnlyList<QuotaViolation>? Violations);

/// <summary>A QuotaFailure violation; <see cref="QuotaId"/> tells per-minute from per-day quotas.</summary>
internal sealed record QuotaViolation(string? QuotaMetric, string? QuotaId);

/// <summary>Source-generated serialization for the Gemini wire types: camelCase names, nulls omitted.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(GenerateContentRequest))]
[JsonSerializable(typeof(ErrorEnvelope))]
internal sealed partial class GeminiJsonContext : JsonSerializerContext;
