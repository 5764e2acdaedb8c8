using System.Text.Json.Serialization;

namespace GenerationWorker.Grains.Gemini;

// The JSON shapes of generateContent (v1beta), named after the API's own messages. Only the members the service reads
// or writes are declared; everything else in a response is ignored. A 200 answer is read by GenerateContentReader,
// which streams each image's base64 into a spool and deserializes the rest of the body, in which Blob.Data holds a
// handle to that spool. Enums (finishReason, blockReason, status) stay strings because Google adds values without notice.

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

/// <summary>
/// Inline bytes; System.Text.Json reads and writes <see cref="Data"/> as base64. In a response read by
/// <see cref="GenerateContentReader"/>, <see cref="Data"/> is the handle of the spooled image, or empty.
/// </summary>
internal sealed record Blob(string? MimeType, byte[]? Data);

/// <summary>generationConfig: always IMAGE only, with an optional image configuration.</summary>
internal sealed record GenerationConfig(IReadOnlyList<string> ResponseModalities, ImageConfig? ImageConfig);

/// <summary>imageConfig: each member is omitted when null so the model's default applies.</summary>
internal sealed record ImageConfig(string? AspectRatio, string? ImageSize);

/// <summary>A 200 answer: candidates, or none and a prompt-level block; and the tokens it was billed for.</summary>
internal sealed record GenerateContentResponse(
    IReadOnlyList<Candidate?>? Candidates, PromptFeedback? PromptFeedback, UsageMetadata? UsageMetadata);

/// <summary>One candidate; image models return exactly one.</summary>
internal sealed record Candidate(Content? Content, string? FinishReason);

/// <summary>Why the prompt itself was refused (then there are no candidates).</summary>
internal sealed record PromptFeedback(string? BlockReason);

/// <summary>The token counts of an answer, for the cost ledger.</summary>
internal sealed record UsageMetadata(int? PromptTokenCount, int? CandidatesTokenCount, int? TotalTokenCount);

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
[JsonSerializable(typeof(GenerateContentResponse))]
[JsonSerializable(typeof(ErrorEnvelope))]
internal sealed partial class GeminiJsonContext : JsonSerializerContext;
