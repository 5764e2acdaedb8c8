using GenerationWorker.TestSupport;
using static GenerationWorker.TestSupport.LogEventIds;

namespace GenerationWorker.Grains.Tests;

/// <summary>The grains' log lines follow one event-id scheme (<see cref="LogEventBlocks"/>): each id names one line.</summary>
public sealed class LogEventIdsTests
{
    [Fact]
    public void EveryLogMethod_HasAnIdOfItsClassBlock_UsedOnlyOnce()
    {
        var methods = Methods(typeof(LogEventBlocks).Assembly);

        Assert.True(methods.Count >= 50, $"only {methods.Count} [LoggerMessage] methods found");
        Assert.Empty(Problems(methods, Blocks(typeof(LogEventBlocks))));
    }

    [Fact]
    public void Problems_NameAnIdUsedTwice_AnIdOutsideItsBlock_AndAClassWithoutABlock()
    {
        var blocks = new Dictionary<string, int> { ["A"] = 1000, ["B"] = 1100 };
        LogMethod[] methods = [new("A", "LogOne", 1001), new("A", "LogTwo", 1001), new("B", "LogThree", 1200), new("C", "LogFour", 1300)];

        var problems = Problems(methods, blocks);

        Assert.Contains(problems, p => p.Contains("event id 1001 is used by A.LogOne, A.LogTwo", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("B.LogThree: event id 1200 is outside its block 1100-1199", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("C has no block", StringComparison.Ordinal));
        Assert.Equal(3, problems.Count);
    }
}
