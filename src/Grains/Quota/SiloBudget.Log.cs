using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Quota;

public sealed partial class SiloBudget
{
    [LoggerMessage(1301, LogLevel.Warning, "Exchanging permits with the quota grain failed; asks and reports wait for the next exchange")]
    private static partial void LogExchangeFailed(ILogger logger, Exception exception);

    [LoggerMessage(1302, LogLevel.Information, "Jobs for {Model} (capped client: {Client}) wait for the Gemini budget: {Why}")]
    private static partial void LogWaiting(ILogger logger, string model, string client, string why);

    [LoggerMessage(1303, LogLevel.Warning, "Returning quota permits to the quota grain at shutdown failed; it takes them back when their lease's hold passes")]
    private static partial void LogReturnFailed(ILogger logger, Exception exception);
}
