using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Gemini;

// What a call did, for operators: model, status and duration. Never the key, the prompt or image bytes. An image is
// logged at Debug (the job's completion line says it at Information); every other answer at Information.
public sealed partial class GeminiClient
{
    [LoggerMessage(EventId = 2101, Message = "Gemini {Model} answered {StatusCode} in {DurationMs} ms: {Outcome}")]
    private partial void LogAnswered(LogLevel level, string model, int statusCode, long durationMs, string outcome);

    [LoggerMessage(2102, LogLevel.Warning, "Gemini {Model} gave no answer within {TimeoutSeconds} s")]
    private partial void LogTimedOut(string model, double timeoutSeconds);

    [LoggerMessage(2103, LogLevel.Warning, "Gemini {Model} call failed after {DurationMs} ms: {Failure}")]
    private partial void LogTransportFailed(string model, long durationMs, string failure);

    [LoggerMessage(2104, LogLevel.Debug, "Gemini {Model} call cancelled by the caller after {DurationMs} ms")]
    private partial void LogCancelled(string model, long durationMs);
}
