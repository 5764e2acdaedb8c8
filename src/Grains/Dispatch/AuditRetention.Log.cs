using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Dispatch;

public sealed partial class AuditRetention
{
    [LoggerMessage(1901, LogLevel.Information, "Audit: deleted {Count} job events older than {Days} days")]
    private static partial void LogPruned(ILogger logger, int count, int days);

    [LoggerMessage(1902, LogLevel.Warning, "Audit pruning failed; the next run tries again")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
