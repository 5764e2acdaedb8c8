using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Storage;

public sealed partial class LocalImageStore
{
    [LoggerMessage(EventId = 2901, Level = LogLevel.Debug, Message = "Stored {Key} locally ({Length} bytes, {ContentType})")]
    private static partial void LogStored(ILogger logger, string key, long length, string contentType);

    [LoggerMessage(EventId = 2902, Level = LogLevel.Warning, Message = "Storing {Key} locally failed: {Detail}")]
    private static partial void LogStoreFailed(ILogger logger, string key, string detail);
}
