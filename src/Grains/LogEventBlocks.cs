namespace GenerationWorker.Grains;

/// <summary>
/// The event ids of this assembly's log lines: each class that logs owns a block of 100 ids starting at its constant
/// here (named after the class), and numbers its <c>[LoggerMessage]</c> methods inside it, each id used once. An
/// operator who sees event id 1104 knows it is <c>JobGrain</c>'s line 4. The host's ids start at 9000
/// (<c>GenerationWorker.Silo.LogEventBlocks</c>).
/// </summary>
/// <remarks>A new class that logs takes the next free block; an id once shipped keeps its meaning.</remarks>
internal static class LogEventBlocks
{
    public const int DispatcherGrain = 1000;
    public const int JobGrain = 1100;
    public const int QuotaGrain = 1200;
    public const int SiloBudget = 1300;
    public const int CostLedger = 1400;
    public const int WorkerLifecycle = 1500;
    public const int JobNotificationListener = 1600;
    public const int JobSummaryLog = 1700;
    public const int PendingJobExpiry = 1800;
    public const int AuditRetention = 1900;
    public const int ServiceStopGrain = 2000;
    public const int GeminiClient = 2100;
    public const int VeoClient = 2200;
    public const int ImageCalls = 2300;
    public const int ImageGenerationHandler = 2400;
    public const int ImageOutputs = 2500;
    public const int VideoGenerationHandler = 2600;
    public const int ImageEncoder = 2700;
    public const int R2ImageStore = 2800;
    public const int LocalImageStore = 2900;
    public const int SchemaMigrator = 3000;
    public const int JobCompletions = 3100;
    public const int AppTables = 3200;
    public const int Rescuer = 3300;
    public const int JobTableStatistics = 3400;
}
