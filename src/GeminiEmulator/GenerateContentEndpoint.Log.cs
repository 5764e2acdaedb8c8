using Microsoft.Extensions.Logging;

namespace GenerationWorker.GeminiEmulator;

internal sealed partial class GenerateContentEndpoint
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "Injecting {Fault} for model {Model}")]
    private static partial void LogFaultInjected(ILogger logger, FaultKind fault, string model);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Rejected an invalid request for model {Model}")]
    private static partial void LogInvalidRequest(ILogger logger, string model);
}
