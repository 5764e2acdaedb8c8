namespace GenerationWorker.Grains.Quota;

/// <summary>
/// The Gemini budget's clock (the quota grain's and this silo's budget owner's): the system clock shifted by
/// <c>BUDGET_CLOCK_OFFSET_SECONDS</c>, 0 unless a test sets it, to run a silo whose clock is ahead of the others' or
/// one near the end of a Pacific day. Only the budget reads it: Orleans and the rest of the service keep the system's.
/// </summary>
public sealed class BudgetClock(TimeSpan offset) : TimeProvider
{
    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + offset;
}
