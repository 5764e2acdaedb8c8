using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Quota;

public sealed partial class QuotaGrain
{
    [LoggerMessage(1201, LogLevel.Information, "Gemini budgets active: {Budgets}; {Open} permits leased to silos")]
    private static partial void LogActivated(ILogger logger, string budgets, int open);

    [LoggerMessage(1202, LogLevel.Warning, "Gemini answered 429 for {Model}: that model is paused until {PausedUntil} (per day: {PerDay}, retryDelay: {RetryDelaySeconds} s); other models go on")]
    private static partial void LogPaused(ILogger logger, string model, DateTimeOffset pausedUntil, bool perDay, double? retryDelaySeconds);

    [LoggerMessage(1203, LogLevel.Warning, "Another activation of the quota grain wrote its state first: this one steps aside")]
    private static partial void LogSteppingAside(ILogger logger, Exception exception);

    [LoggerMessage(1204, LogLevel.Information, "Gemini budget of {Model}: {Use} used, paused until {PausedUntil}")]
    private static partial void LogSummary(ILogger logger, string model, string use, DateTimeOffset? pausedUntil);

    [LoggerMessage(1205, LogLevel.Warning, "Gemini {Cap}: the requests it covers wait for its next period (SPEND_CAP_ACTION=fail fails them)")]
    private static partial void LogCapReached(ILogger logger, string cap);
}
