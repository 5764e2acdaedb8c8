using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Gemini;

public sealed partial class VeoClient
{
    [LoggerMessage(1, LogLevel.Information, "Veo {Model} started operation {OperationName} in {DurationMs} ms")]
    private static partial void LogStarted(ILogger logger, string model, string operationName, long durationMs);

    [LoggerMessage(2, LogLevel.Warning, "Veo {Model}: no answer to a start after {DurationMs} ms ({Failure}); an operation may exist")]
    private static partial void LogStartUnknown(ILogger logger, string model, long durationMs, string failure);

    [LoggerMessage(3, LogLevel.Information, "Veo {Model} refused a start: HTTP {Status} ({Outcome})")]
    private static partial void LogStartRefused(ILogger logger, string model, int status, string outcome);

    [LoggerMessage(4, LogLevel.Debug, "Veo operation {OperationName}: {Poll}")]
    private static partial void LogPolled(ILogger logger, string operationName, string poll);

    [LoggerMessage(5, LogLevel.Debug, "Veo video downloaded: {Bytes} bytes")]
    private static partial void LogDownloaded(ILogger logger, long bytes);

    [LoggerMessage(6, LogLevel.Warning, "Veo video download failed: HTTP {Status} ({Outcome})")]
    private static partial void LogDownloadFailed(ILogger logger, int status, string outcome);

    [LoggerMessage(7, LogLevel.Warning, "Veo request ({What}) got no answer: {Failure}")]
    private static partial void LogTransportFailed(ILogger logger, string what, string failure);
}
