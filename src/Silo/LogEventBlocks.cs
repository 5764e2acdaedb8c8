namespace GenerationWorker.Silo;

/// <summary>
/// The event ids of the host's log lines: each class that logs owns a block of 100 ids starting at its constant here
/// (named after the class) and numbers its <c>[LoggerMessage]</c> methods inside it, each id used once. The host's
/// blocks start at 9000, above the grains' (<c>GenerationWorker.Grains.LogEventBlocks</c>), so an id names one line
/// in the whole service.
/// </summary>
/// <remarks>A new class that logs takes the next free block; an id once shipped keeps its meaning.</remarks>
internal static class LogEventBlocks
{
    public const int StartupDatabase = 9000;
    public const int StartupStorage = 9100;
    public const int HealthEndpoints = 9200;
    public const int RailwayDraining = 9300;
    public const int CrashedSiloEviction = 9400;
}
