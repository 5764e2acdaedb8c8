using GenerationWorker.Grains.Storage;

namespace GenerationWorker.Silo.Hosting;

public static partial class StartupStorage
{
    [LoggerMessage(EventId = 9101, Level = LogLevel.Warning, Message = "The image store does not answer ({Failure}): {Detail}; starting without claiming, probing again")]
    private static partial void LogStoreUnreachable(ILogger logger, ImageStoreFailure failure, string detail);
}
