using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Images;

public sealed partial class ImageGenerationHandler
{
    [LoggerMessage(2401, LogLevel.Information, "Job {JobId}: model override {Override} cannot make {ImageSize} images; using {Model}")]
    private static partial void LogOverrideReplaced(ILogger logger, string jobId, string @override, string imageSize, string model);
}
