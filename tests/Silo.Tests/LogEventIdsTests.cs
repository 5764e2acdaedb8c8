using GenerationWorker.Grains;
using static GenerationWorker.TestSupport.LogEventIds;

namespace GenerationWorker.Silo.Tests;

/// <summary>The host's log lines follow one event-id scheme (<see cref="LogEventBlocks"/>), apart from the grains' ids.</summary>
public sealed class LogEventIdsTests
{
    [Fact]
    public void EveryLogMethod_HasAnIdOfItsClassBlock_UsedOnlyOnce()
    {
        var methods = Methods(typeof(LogEventBlocks).Assembly);

        Assert.NotEmpty(methods);
        Assert.Empty(Problems(methods, Blocks(typeof(LogEventBlocks))));
    }

    [Fact]
    public void NoHostEventId_IsAlsoAGrainsEventId()
    {
        var grains = Methods(typeof(GrainReferences).Assembly).Select(m => m.EventId).ToHashSet();

        Assert.DoesNotContain(Methods(typeof(LogEventBlocks).Assembly), m => grains.Contains(m.EventId));
    }
}
