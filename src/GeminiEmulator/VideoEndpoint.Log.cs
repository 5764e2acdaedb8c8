using Microsoft.Extensions.Logging;

namespace GenerationWorker.GeminiEmulator;

internal sealed partial class VideoEndpoint
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "Cutting the answer of a started Veo operation for model {Model}")]
    private static partial void LogStartAnswerLost(ILogger logger, string model);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Injecting a 503 into a Veo download for model {Model}")]
    private static partial void LogDownloadFault(ILogger logger, string model);
}
