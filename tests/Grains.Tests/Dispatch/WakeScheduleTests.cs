using GenerationWorker.Grains.Dispatch;
using Microsoft.Extensions.Time.Testing;

namespace GenerationWorker.Grains.Tests.Dispatch;

/// <summary>
/// When the dispatcher is woken to claim: the earliest wake-up asked, one delivery for wake-ups asked together, and no
/// claim before a not-before time. Fake time: each body runs without a synchronization context, so a delay's
/// continuation (the delivery) runs inside <see cref="FakeTimeProvider.Advance"/> and its absence can be asserted.
/// </summary>
public sealed class WakeScheduleTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public Task AWakeUp_IsDeliveredAtTheTimeAsked_NotBefore() => Run((time, schedule, woken) =>
    {
        Assert.True(schedule.WakeAt(Start + TimeSpan.FromSeconds(5)));

        time.Advance(TimeSpan.FromSeconds(4.9));
        Assert.Empty(woken);
        time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.Equal([Start + TimeSpan.FromSeconds(5)], woken);
    });

    [Fact]
    public Task AWakeUpAskedLaterThanThePendingOne_IsCoveredByIt() => Run((time, schedule, woken) =>
    {
        schedule.WakeAt(Start + TimeSpan.FromSeconds(1));

        Assert.False(schedule.WakeAt(Start + TimeSpan.FromSeconds(3)));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal([Start + TimeSpan.FromSeconds(1)], woken);
        time.Advance(TimeSpan.FromSeconds(4));
        Assert.Single(woken);
    });

    [Fact]
    public Task AnEarlierWakeUp_ReplacesThePendingOne_WhoseDelayThenFiresWithoutEffect() => Run((time, schedule, woken) =>
    {
        schedule.WakeAt(Start + TimeSpan.FromSeconds(5));

        Assert.True(schedule.WakeAt(Start + TimeSpan.FromSeconds(1)));
        time.Advance(TimeSpan.FromSeconds(1));
        schedule.Begin();
        time.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal([Start + TimeSpan.FromSeconds(1)], woken);
        Assert.Null(schedule.Pending);
    });

    [Fact]
    public Task WakeUpsAskedTogether_AreDeliveredOnce_UntilAClaimBegins() => Run((time, schedule, woken) =>
    {
        // Jobs finishing together: one claim fills all their slots.
        schedule.WakeAt(Start);
        schedule.WakeAt(Start);
        schedule.WakeAt(Start);
        Assert.Single(woken);

        schedule.Begin();
        schedule.WakeAt(Start);
        Assert.Equal(2, woken.Count);
    });

    [Fact]
    public Task ADeliveredWakeUp_StaysDue_UntilAClaimBegins() => Run((time, schedule, woken) =>
    {
        // A delivery that never arrives is caught by the tick, which claims when the wake-up is due.
        schedule.WakeAt(Start + TimeSpan.FromSeconds(1));
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.True(schedule.IsDue(time.GetUtcNow()));

        schedule.Begin();

        Assert.False(schedule.IsDue(time.GetUtcNow()));
        Assert.Equal(Start + TimeSpan.FromSeconds(2), schedule.LastClaim);
    });

    [Fact]
    public Task BeforeTheNotBeforeTime_NoClaimGoesOn_AndAWakeUpIsPendingForIt() => Run((time, schedule, woken) =>
    {
        schedule.NotBefore(Start + TimeSpan.FromSeconds(1));

        // A wake-up asked for now (a job finished) comes at once but may not claim yet; it asks again for then.
        schedule.WakeAt(Start);
        schedule.Begin();
        Assert.False(schedule.ClaimAllowed());
        Assert.Equal(Start + TimeSpan.FromSeconds(1), schedule.Pending);

        time.Advance(TimeSpan.FromSeconds(1));
        schedule.Begin();
        Assert.True(schedule.ClaimAllowed());
        Assert.Equal([Start, Start + TimeSpan.FromSeconds(1)], woken);
    });

    [Fact]
    public Task OfTwoNotBeforeTimes_TheLaterHolds() => Run((time, schedule, woken) =>
    {
        schedule.NotBefore(Start + TimeSpan.FromSeconds(3));
        schedule.NotBefore(Start + TimeSpan.FromSeconds(1));

        time.Advance(TimeSpan.FromSeconds(2));
        Assert.False(schedule.ClaimAllowed());
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(schedule.ClaimAllowed());
    });

    /// <summary>Runs <paramref name="body"/> on the thread pool (no synchronization context) with a schedule on fake time.</summary>
    private static Task Run(Action<FakeTimeProvider, WakeSchedule, List<DateTimeOffset>> body) => Task.Run(() =>
    {
        var time = new FakeTimeProvider(Start);
        var woken = new List<DateTimeOffset>();
        var schedule = new WakeSchedule(time, () =>
        {
            woken.Add(time.GetUtcNow());
            return Task.CompletedTask;
        });
        body(time, schedule, woken);
    });
}
