namespace GenerationWorker.Grains.Tests.Reliability;

/// <summary>Polls a condition with a deadline (never a fixed sleep standing in for an event).</summary>
internal static class Poll
{
    public static async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new TimeoutException($"{what}: not reached within {timeout.TotalSeconds:0.#} s; last: {value}");
            }

            await Task.Delay(50);
        }
    }

    public static Task UntilAsync(Func<bool> done, TimeSpan timeout, string what) =>
        UntilAsync(() => Task.FromResult(done()), d => d, timeout, what);

    public static Task UntilAsync(Func<Task<bool>> done, TimeSpan timeout, string what) =>
        UntilAsync(done, d => d, timeout, what);
}
