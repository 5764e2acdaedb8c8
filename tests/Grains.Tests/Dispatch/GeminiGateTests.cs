using GenerationWorker.Grains.Dispatch;

namespace GenerationWorker.Grains.Tests.Dispatch;

public sealed class GeminiGateTests
{
    private const long Mb = 1 << 20;

    [Fact]
    public async Task RequestsBeyondTheConcurrency_WaitForAFreeSlot()
    {
        var gate = new GeminiGate(2, 1000 * Mb);
        var first = await gate.EnterAsync(Mb, CancellationToken.None);
        using var second = await gate.EnterAsync(Mb, CancellationToken.None);

        var third = gate.EnterAsync(Mb, CancellationToken.None);
        Assert.False(third.IsCompleted);

        first.Dispose();
        using var granted = await third.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task RequestsBeyondTheMemoryBudget_WaitForMemory_AndAnOversizedOneRunsAlone()
    {
        var gate = new GeminiGate(50, 100 * Mb);
        var big = await gate.EnterAsync(GeminiGate.ExpectedBytes("4K"), CancellationToken.None);
        var second = gate.EnterAsync(GeminiGate.ExpectedBytes("4K"), CancellationToken.None);
        Assert.False(second.IsCompleted);

        big.Dispose();
        var secondSlot = await second.WaitAsync(TimeSpan.FromSeconds(5));
        var oversized = gate.EnterAsync(500 * Mb, CancellationToken.None);
        Assert.False(oversized.IsCompleted);
        secondSlot.Dispose();
        using var alone = await oversized.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Waiters_AreServedInOrder_SoALargeRequestIsNotStarved()
    {
        var gate = new GeminiGate(50, 100 * Mb);
        var held = await gate.EnterAsync(60 * Mb, CancellationToken.None);
        var large = gate.EnterAsync(60 * Mb, CancellationToken.None);
        var small = gate.EnterAsync(Mb, CancellationToken.None);

        Assert.False(small.IsCompleted, "a small request does not overtake the large one waiting before it");
        held.Dispose();
        using var largeSlot = await large.WaitAsync(TimeSpan.FromSeconds(5));
        using var smallSlot = await small.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task ACancelledWaiter_LeavesTheQueue()
    {
        var gate = new GeminiGate(1, 100 * Mb);
        var held = await gate.EnterAsync(Mb, CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var cancelled = gate.EnterAsync(Mb, cancel.Token);
        var next = gate.EnterAsync(Mb, CancellationToken.None);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        held.Dispose();
        using var slot = await next.WaitAsync(TimeSpan.FromSeconds(5));
    }
}
