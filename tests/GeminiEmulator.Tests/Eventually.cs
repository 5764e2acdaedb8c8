namespace GenerationWorker.GeminiEmulator.Tests;

/// <summary>Polls a condition on a short period until it holds or a deadline passes.</summary>
internal static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, int timeoutMs = 10_000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(5));
        while (!condition())
        {
            Assert.True(Environment.TickCount64 < deadline, "condition not met before the deadline");
            await poll.WaitForNextTickAsync();
        }
    }
}
