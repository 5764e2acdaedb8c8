using System.Diagnostics;

namespace GenerationWorker.TestSupport;

/// <summary>
/// Waits for something another thread or process does, where there is no signal to await: polls a condition with
/// a deadline (never a fixed sleep standing in for the event). The one polling loop of the tests and the harnesses.
/// </summary>
/// <remarks>
/// A value read past the deadline still counts when it is the awaited one (a slow read is not a failure). An
/// exception the read throws ends the wait at once (a process that exited, a failed assertion).
/// </remarks>
public static class Eventually
{
    /// <summary>The pause between two polls when the caller names none: 50 ms.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Reads <paramref name="read"/> every <paramref name="interval"/> (default 50 ms) until <paramref name="done"/>
    /// holds for the value read, and returns that value.
    /// </summary>
    /// <param name="read">Reads the observed value.</param>
    /// <param name="done">Whether the value is the awaited one.</param>
    /// <param name="timeout">How long to poll before failing.</param>
    /// <param name="what">What is awaited, for the failure message ("the job completes").</param>
    /// <param name="interval">The pause between two polls; <see cref="DefaultInterval"/> when null.</param>
    /// <param name="describe">Renders the last value in the failure message; its <c>ToString()</c> when null.</param>
    /// <exception cref="TimeoutException">
    /// <paramref name="timeout"/> passed; the message names <paramref name="what"/> and the last value read.
    /// </exception>
    public static async Task<T> ValueAsync<T>(
        Func<Task<T>> read, Func<T, bool> done, TimeSpan timeout, string what, TimeSpan? interval = null, Func<T, string>? describe = null)
    {
        var elapsed = Stopwatch.StartNew();
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            if (elapsed.Elapsed > timeout)
            {
                var last = describe is null ? value?.ToString() ?? "null" : describe(value);
                throw new TimeoutException($"{what}: not within {timeout.TotalSeconds:0.#} s; last observed: {last}");
            }

            await Task.Delay(interval ?? DefaultInterval);
        }
    }

    /// <summary>Polls <paramref name="read"/> until it returns a value that is not null, and returns that value.</summary>
    /// <inheritdoc cref="ValueAsync{T}(Func{Task{T}}, Func{T, bool}, TimeSpan, string, TimeSpan?, Func{T, string}?)" />
    public static async Task<T> ValueAsync<T>(Func<Task<T?>> read, TimeSpan timeout, string what, TimeSpan? interval = null)
        where T : class =>
        (await ValueAsync(read, value => value is not null, timeout, what, interval))!;

    /// <summary>
    /// Polls <paramref name="condition"/> every <paramref name="interval"/> (default 50 ms) until it holds, and returns
    /// how long that took.
    /// </summary>
    /// <param name="condition">The awaited condition.</param>
    /// <param name="timeout">How long to poll before failing.</param>
    /// <param name="what">What is awaited, for the failure message.</param>
    /// <param name="interval">The pause between two polls; <see cref="DefaultInterval"/> when null.</param>
    /// <param name="lastObserved">
    /// Describes what was last seen, for the failure message (a process's output, the values compared); read once, on failure.
    /// </param>
    /// <exception cref="TimeoutException"><paramref name="timeout"/> passed; the message names <paramref name="what"/>.</exception>
    public static async Task<TimeSpan> UntilAsync(
        Func<Task<bool>> condition, TimeSpan timeout, string what, TimeSpan? interval = null, Func<string>? lastObserved = null)
    {
        var elapsed = Stopwatch.StartNew();
        await ValueAsync(condition, holds => holds, timeout, what, interval, _ => lastObserved?.Invoke() ?? "the condition did not hold");
        return elapsed.Elapsed;
    }

    /// <summary>Polls the synchronous <paramref name="condition"/> until it holds, and returns how long that took.</summary>
    /// <inheritdoc cref="UntilAsync(Func{Task{bool}}, TimeSpan, string, TimeSpan?, Func{string}?)" />
    public static Task<TimeSpan> UntilAsync(
        Func<bool> condition, TimeSpan timeout, string what, TimeSpan? interval = null, Func<string>? lastObserved = null) =>
        UntilAsync(() => Task.FromResult(condition()), timeout, what, interval, lastObserved);
}
