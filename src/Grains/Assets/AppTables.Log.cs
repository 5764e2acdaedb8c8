using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Assets;

public sealed partial class AppTables
{
    [LoggerMessage(3201, LogLevel.Information, "Web app integration {State}")]
    private static partial void LogIntegration(ILogger logger, string state);

    [LoggerMessage(3202, LogLevel.Warning, "Could not check for the web app's tables at start-up; the first job checks again")]
    private static partial void LogCheckFailed(ILogger logger, Exception exception);
}
