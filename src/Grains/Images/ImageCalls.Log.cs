using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Images;

public sealed partial class ImageCalls
{
    [LoggerMessage(2301, LogLevel.Debug, "Job {JobId} attempt {Attempt} variant {Variant}: Gemini {Model} answered {Outcome}")]
    private static partial void LogGemini(ILogger logger, string jobId, int attempt, int variant, string model, string outcome);

    [LoggerMessage(2302, LogLevel.Information, "Job {JobId} attempt {Attempt} variant {Variant}: {Model} answered {Outcome}; calling the fallback model {Fallback}")]
    private static partial void LogFallback(ILogger logger, string jobId, int attempt, int variant, string model, string fallback, string outcome);
}
