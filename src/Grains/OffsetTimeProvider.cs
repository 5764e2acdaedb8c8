namespace GenerationWorker.Grains;

/// <summary>
/// The system clock shifted by a fixed offset (<c>CLOCK_OFFSET_SECONDS</c>): a silo whose clock runs ahead of or behind
/// the others', or one set near the end of a Pacific day. Timestamps and timers are the system's, unshifted.
/// </summary>
public sealed class OffsetTimeProvider(TimeSpan offset) : TimeProvider
{
    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + offset;
}
