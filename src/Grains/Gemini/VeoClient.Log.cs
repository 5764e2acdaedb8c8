using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Gemini;

public sealed partial class VeoClient
{
    [LoggerMessage(2201, LogLevel.Information, "Veo {Model} started operation {OperationName} in {DurationMs} ms")]
    private static partial void LogStarted(ILogger logger, string model, string operationName, long durationMs);

    [LoggerMessage(2202, LogLevel.Warning, "Veo {Model}: no answer to a start after {DurationMs} ms ({Failure}); an operation may exist")]
    private static partial void LogStartUnknown(ILogger logger, string model, long durationMs, string failure);

    [LoggerMessage(2203, LogLevel.Information, "Veo {Model} refused a start: HTTP {Status} ({Outcome})")]
    private static partial void LogStartRefused(ILogger logger, string model, int status, string outcome);

    [LoggerMessage(2204, LogLevel.Debug, "Veo operation {OperationName}: {Poll}")]
    private static partial void LogPolled(ILogger logger, string operationName, string poll);

    [LoggerMessage(2205, LogLevel.Debug, "Veo video downloaded: {Bytes} bytes")]
    private static partial void LogDownloaded(ILogger logger, long bytes);

    [LoggerMessage(2206, LogLevel.Warning, "Veo video download failed: HTTP {Status} ({Outcome})")]
    private static partial void LogDownloadFailed(ILogger logger, int status, string outcome);

    [LoggerMessage(2207, LogLevel.Warning, "Veo request ({What}) got no answer: {Failure}")]
    private static partial void LogTransportFailed(ILogger logger, string what, string failure);
}
