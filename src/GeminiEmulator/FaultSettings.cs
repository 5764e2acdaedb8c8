using System.Text.Json.Serialization;

namespace GenerationWorker.GeminiEmulator;

/// <summary>
/// Faults the emulator injects into <c>generateContent</c> answers: latency, per-request probabilities of each fault
/// kind (drawn from a seeded random generator, so a run is reproducible), and a scripted queue for the next requests.
/// Serialized as the JSON body of <c>POST /_emulator/faults</c> and the <c>EMULATOR_FAULTS</c> variable.
/// </summary>
public sealed record FaultSettings
{
    /// <summary>A fixed latency added to every admitted request, in milliseconds; default none.</summary>
    public double? LatencyMs { get; init; }

    /// <summary>With <see cref="LatencyMaxMs"/>: a latency drawn uniformly in [min, max] ms; default none.</summary>
    public double? LatencyMinMs { get; init; }

    /// <summary>The upper bound of the uniform latency, in milliseconds; default none.</summary>
    public double? LatencyMaxMs { get; init; }

    /// <summary>Probability (0..1) of a 500 INTERNAL; default 0.</summary>
    public double InternalError { get; init; }

    /// <summary>Probability of a 503 UNAVAILABLE "The model is overloaded."; default 0.</summary>
    public double Unavailable { get; init; }

    /// <summary>Probability of a bare 429 RESOURCE_EXHAUSTED without details; default 0.</summary>
    public double ResourceExhausted { get; init; }

    /// <summary>Probability of a 429 with QuotaFailure and RetryInfo (<see cref="RetryDelaySeconds"/>); default 0.</summary>
    public double QuotaRetry { get; init; }

    /// <summary>The retryDelay of injected 429s with RetryInfo, in seconds; default 30.</summary>
    public double RetryDelaySeconds { get; init; } = 30;

    /// <summary>Probability of never answering until the client gives up; default 0.</summary>
    public double Hang { get; init; }

    /// <summary>Probability of a 200 with finishReason IMAGE_SAFETY and no parts; default 0.</summary>
    public double ImageSafety { get; init; }

    /// <summary>Probability of a 200 with finishReason NO_IMAGE and no parts; default 0.</summary>
    public double NoImage { get; init; }

    /// <summary>Probability of a 200 with finishReason STOP and only a text part (a refusal); default 0.</summary>
    public double Refusal { get; init; }

    /// <summary>Probability of a 200 without candidates and promptFeedback.blockReason PROHIBITED_CONTENT; default 0.</summary>
    public double Blocked { get; init; }

    /// <summary>The seed of the random generator behind the probabilities and the uniform latency; default 1.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Answers for the next requests, in order, before any probability applies; default none.</summary>
    public IReadOnlyList<ScriptedFault>? Next { get; init; }
}

/// <summary>"The next <see cref="Count"/> requests answer <see cref="Fault"/>."</summary>
/// <param name="Fault">A fault name as in prompt directives: 500, 503, 429, 429-retry, hang, IMAGE_SAFETY, NO_IMAGE,
/// refuse, blocked, precondition, or ok for a normal answer.</param>
/// <param name="Count">How many consecutive requests; default 1.</param>
public sealed record ScriptedFault(string Fault, int Count = 1);

/// <summary>What the emulator does with one admitted request.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FaultKind>))]
public enum FaultKind
{
    /// <summary>Answer normally with an image.</summary>
    None,

    /// <summary>500 INTERNAL.</summary>
    Internal,

    /// <summary>503 UNAVAILABLE, the model is overloaded.</summary>
    Unavailable,

    /// <summary>429 RESOURCE_EXHAUSTED without details.</summary>
    ResourceExhausted,

    /// <summary>429 RESOURCE_EXHAUSTED with QuotaFailure and RetryInfo.</summary>
    QuotaRetry,

    /// <summary>No answer until the client closes the connection.</summary>
    Hang,

    /// <summary>200, finishReason IMAGE_SAFETY, no content parts.</summary>
    ImageSafety,

    /// <summary>200, finishReason NO_IMAGE, no content parts.</summary>
    NoImage,

    /// <summary>200, finishReason STOP with a text part only.</summary>
    Refusal,

    /// <summary>200, no candidates, promptFeedback.blockReason PROHIBITED_CONTENT.</summary>
    Blocked,

    /// <summary>400 FAILED_PRECONDITION "User location is not supported for the API use." (the project may not use
    /// the model, or the API at all). Directives and scripts only: no probability draws it.</summary>
    Precondition,
}

/// <summary>The names of fault kinds in prompt directives and scripted faults.</summary>
public static class FaultNames
{
    private static readonly Dictionary<string, FaultKind> ByName = new(StringComparer.OrdinalIgnoreCase)
    {
        ["ok"] = FaultKind.None,
        ["500"] = FaultKind.Internal,
        ["503"] = FaultKind.Unavailable,
        ["429"] = FaultKind.ResourceExhausted,
        ["429-retry"] = FaultKind.QuotaRetry,
        ["hang"] = FaultKind.Hang,
        ["IMAGE_SAFETY"] = FaultKind.ImageSafety,
        ["NO_IMAGE"] = FaultKind.NoImage,
        ["refuse"] = FaultKind.Refusal,
        ["blocked"] = FaultKind.Blocked,
        ["precondition"] = FaultKind.Precondition,
    };

    /// <summary>Parses a fault name (case-insensitive).</summary>
    public static bool TryParse(string name, out FaultKind kind) => ByName.TryGetValue(name, out kind);
}
