using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Quota;

public sealed partial class QuotaGrain
{
    [LoggerMessage(1, LogLevel.Information, "Gemini budget active: {Budget} requests per {WindowSeconds} s window, {InUse} slots in use")]
    private static partial void LogActivated(ILogger logger, int budget, double windowSeconds, int inUse);

    [LoggerMessage(2, LogLevel.Warning, "Gemini answered 429: the whole cluster's budget is paused until {PausedUntil} (per day: {PerDay}, retryDelay: {RetryDelaySeconds} s)")]
    private static partial void LogPaused(ILogger logger, DateTimeOffset pausedUntil, bool perDay, double? retryDelaySeconds);

    [LoggerMessage(3, LogLevel.Warning, "Another activation of the quota grain wrote its state first: this one steps aside")]
    private static partial void LogSteppingAside(ILogger logger, Exception exception);

    [LoggerMessage(4, LogLevel.Information, "Gemini budget: {Sent} of {Budget} requests sent in the last {WindowSeconds} s window, {InUse} slots in use, paused: {Paused}")]
    private static partial void LogSummary(ILogger logger, int sent, int budget, double windowSeconds, int inUse, bool paused);
}
