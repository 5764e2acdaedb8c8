using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Images;

public sealed partial class ImageOutputs
{
    [LoggerMessage(2501, LogLevel.Warning, "Job {JobId} attempt {Attempt}: upload of variant {Variant} failed (try {Try}); retrying the upload")]
    private static partial void LogUploadRetry(ILogger logger, string jobId, int attempt, int variant, int @try, Exception exception);
}
