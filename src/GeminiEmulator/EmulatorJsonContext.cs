using System.Text.Json.Serialization;

namespace GenerationWorker.GeminiEmulator;

/// <summary>Source-generated JSON for the control API and <c>EMULATOR_FAULTS</c> (camelCase, unknown members rejected).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    PropertyNameCaseInsensitive = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(FaultSettings))]
[JsonSerializable(typeof(FaultsState))]
[JsonSerializable(typeof(ScriptedFault[]))]
[JsonSerializable(typeof(EmulatorStatsSnapshot))]
[JsonSerializable(typeof(RequestLogEntry[]))]
[JsonSerializable(typeof(VideoStatsSnapshot))]
internal sealed partial class EmulatorJsonContext : JsonSerializerContext;

/// <summary>The answer of <c>GET /_emulator/faults</c>.</summary>
/// <param name="Settings">The settings in force.</param>
/// <param name="PendingScripted">How many scripted answers are still queued.</param>
public sealed record FaultsState(FaultSettings Settings, int PendingScripted);
