using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Storage;

public sealed partial class R2ImageStore
{
    [LoggerMessage(EventId = 2801, Level = LogLevel.Debug, Message = "Stored {Key} ({Length} bytes, {ContentType})")]
    private static partial void LogStored(ILogger logger, string key, long length, string contentType);

    [LoggerMessage(EventId = 2802, Level = LogLevel.Warning, Message = "Storing {Key} in bucket {Bucket} failed ({Failure}): {Detail}")]
    private static partial void LogStoreFailed(ILogger logger, string key, string bucket, ImageStoreFailure failure, string detail);
}
