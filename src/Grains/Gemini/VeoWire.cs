using System.Text.Json.Serialization;

namespace GenerationWorker.Grains.Gemini;

// The JSON shapes of Veo's long-running operations (v1beta predictLongRunning, operations.get). Only the members the
// service reads or writes are declared.

/// <summary>The body of <c>POST /v1beta/models/{model}:predictLongRunning</c>.</summary>
internal sealed record PredictLongRunningRequest(IReadOnlyList<VeoInstance> Instances, VeoParameters Parameters);

/// <summary>One instance: the prompt and the optional first frame.</summary>
internal sealed record VeoInstance(string Prompt, VeoImage? Image);

/// <summary>An inline image; <see cref="BytesBase64Encoded"/> is written as base64.</summary>
internal sealed record VeoImage(byte[] BytesBase64Encoded, string MimeType);

/// <summary>The generation's parameters; a null member is omitted so the model's default applies.</summary>
internal sealed record VeoParameters(string? AspectRatio, string? Resolution, int SampleCount);

/// <summary>A google.longrunning.Operation: the start's answer and each poll's.</summary>
internal sealed record VeoOperation(string? Name, bool? Done, ErrorBody? Error, VeoOperationResponse? Response);

/// <summary>The response of a finished operation.</summary>
internal sealed record VeoOperationResponse(GenerateVideoResponse? GenerateVideoResponse);

/// <summary>The videos made, or why none were.</summary>
internal sealed record GenerateVideoResponse(
    IReadOnlyList<GeneratedSample>? GeneratedSamples, int? RaiMediaFilteredCount, IReadOnlyList<string>? RaiMediaFilteredReasons);

/// <summary>One generated video.</summary>
internal sealed record GeneratedSample(VeoVideoFile? Video);

/// <summary>Where a generated video can be downloaded.</summary>
internal sealed record VeoVideoFile(string? Uri);

/// <summary>Source-generated serialization for the Veo wire types: camelCase names, nulls omitted.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PredictLongRunningRequest))]
[JsonSerializable(typeof(VeoOperation))]
internal sealed partial class VeoJsonContext : JsonSerializerContext;
