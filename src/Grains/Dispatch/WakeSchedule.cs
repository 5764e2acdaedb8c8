namespace GenerationWorker.Grains.Dispatch;

/// <summary>
/// When the dispatcher claims next: one wake-up pending at a time, at the earliest time asked, and no claim before a
/// not-before time. The dispatcher's every reason to claim later (a job finished, a job scheduled for later, a claim
/// given back, a failed claim) goes through it.
/// </summary>
/// <remarks>
/// <para>A wake-up asked while one is pending at or before that time is already covered: jobs finishing together queue
/// one claim, not one each. One asked earlier replaces the pending one, whose delay then fires without effect: the claim
/// the earlier wake-up starts asks for the next wake-up itself.</para>
/// <para>A wake-up stays pending from the time it is asked until a claim begins at or after its time (<see cref="Begin"/>),
/// not only until its delay fires: the delivery (a call to the grain, a turn of its own) is queued behind the calls
/// already waiting. A delivery that is lost is caught by the dispatcher's tick, which claims when <see cref="IsDue"/>.</para>
/// <para>Not thread-safe: one grain's turns use it (its delays' continuations run on the grain's scheduler).</para>
/// </remarks>
/// <param name="time">The clock the delays run on.</param>
/// <param name="wake">
/// Delivers a wake-up: a call to the dispatcher, which claims in a turn of its own (claiming from the delay's
/// continuation would interleave with a claim in progress).
/// </param>
/// <param name="scheduled">Told how soon each new wake-up is due (for a debug log), or null.</param>
public sealed class WakeSchedule(TimeProvider time, Func<Task> wake, Action<TimeSpan>? scheduled = null)
{
    private DateTimeOffset _wakeAt = DateTimeOffset.MaxValue;
    private DateTimeOffset _notBefore = DateTimeOffset.MinValue;
    private long _generation;

    /// <summary>When the pending wake-up is due, or null when none is pending.</summary>
    public DateTimeOffset? Pending => _wakeAt == DateTimeOffset.MaxValue ? null : _wakeAt;

    /// <summary>When the last claim began (<see cref="Begin"/>); <see cref="DateTimeOffset.MinValue"/> before the first.</summary>
    public DateTimeOffset LastClaim { get; private set; } = DateTimeOffset.MinValue;

    /// <summary>True when the pending wake-up's time has come (its delivery is late or lost, or on its way).</summary>
    public bool IsDue(DateTimeOffset now) => _wakeAt <= now;

    /// <summary>
    /// Asks for a claim at <paramref name="at"/> (at once when it is past). Nothing changes when a wake-up is pending at or
    /// before it; otherwise this one replaces it.
    /// </summary>
    /// <returns>True when a new wake-up was scheduled.</returns>
    public bool WakeAt(DateTimeOffset at)
    {
        if (_wakeAt <= at)
        {
            return false;
        }

        _wakeAt = at;
        var due = at - time.GetUtcNow();
        scheduled?.Invoke(due);
        _ = DeliverAsync(due < TimeSpan.Zero ? TimeSpan.Zero : due, ++_generation);
        return true;
    }

    /// <summary>No claim before <paramref name="at"/> (a later one of two wins), and a wake-up then.</summary>
    public void NotBefore(DateTimeOffset at)
    {
        if (at > _notBefore)
        {
            _notBefore = at;
        }

        WakeAt(_notBefore);
    }

    /// <summary>A claim begins now: a wake-up due by now is spent.</summary>
    public void Begin()
    {
        LastClaim = time.GetUtcNow();
        if (_wakeAt <= LastClaim)
        {
            _wakeAt = DateTimeOffset.MaxValue;
        }
    }

    /// <summary>
    /// True when a claim may go on now; false before the not-before time, with a wake-up pending for it (a wake-up due
    /// earlier, a tick or a notification, neither claims before then nor forgets to).
    /// </summary>
    public bool ClaimAllowed()
    {
        if (time.GetUtcNow() >= _notBefore)
        {
            return true;
        }

        WakeAt(_notBefore);
        return false;
    }

    /// <remarks>Only the latest wake-up asked is delivered; one replaced by an earlier one fires without effect.</remarks>
    private async Task DeliverAsync(TimeSpan due, long generation)
    {
        await Task.Delay(due, time);
        if (generation == _generation)
        {
            await wake();
        }
    }
}
