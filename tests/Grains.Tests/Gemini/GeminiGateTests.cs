using GenerationWorker.Grains.Gemini;

namespace GenerationWorker.Grains.Tests.Gemini;

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
        var big = await gate.EnterAsync(60 * Mb, CancellationToken.None);
        var second = gate.EnterAsync(60 * Mb, CancellationToken.None);
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

    [Fact]
    public async Task FiftyFourKRequests_FitTheDefaultBudgetAtOnce_SinceAnswersAreStreamedToFiles()
    {
        var gate = new GeminiGate(50, 512 * Mb);
        var slots = new List<IDisposable>();
        for (var i = 0; i < 50; i++)
        {
            var entered = gate.EnterAsync(GeminiGate.ExpectedBytes("4K"), CancellationToken.None);
            Assert.True(entered.IsCompletedSuccessfully, $"request {i + 1} of 50 waited");
            slots.Add(await entered);
        }

        slots.ForEach(slot => slot.Dispose());
    }

    [Fact]
    public async Task EditRequests_CountTheirInputImages()
    {
        var gate = new GeminiGate(50, 100 * Mb);
        Assert.True(GeminiGate.ExpectedBytes("4K", 20 * Mb) > GeminiGate.ExpectedBytes("4K") + 20 * Mb);
        using var first = await gate.EnterAsync(GeminiGate.ExpectedBytes("1K", 20 * Mb), CancellationToken.None);
        var second = gate.EnterAsync(GeminiGate.ExpectedBytes("1K", 20 * Mb), CancellationToken.None);

        Assert.False(second.IsCompleted, "two requests carrying 20 MB of input images each exceed a 100 MB budget");
        first.Dispose();
        using var granted = await second.WaitAsync(TimeSpan.FromSeconds(5));
    }
}
