using GenerationWorker.Grains.Quota;

namespace GenerationWorker.Grains.Tests.Quota;

public sealed class PacificMidnightTests
{
    [Theory]
    [InlineData("2026-11-29T16:00:00Z", "2026-11-30T08:00:00Z")] // PST: midnight is 08:00 UTC
    [InlineData("2026-07-01T06:59:00Z", "2026-07-01T07:00:00Z")] // PDT: midnight is 07:00 UTC
    [InlineData("2026-03-08T07:30:00Z", "2026-03-08T08:00:00Z")] // the evening before clocks go forward (PST)
    [InlineData("2026-03-08T09:00:00Z", "2026-03-09T07:00:00Z")] // the day clocks go forward: the next midnight is PDT
    [InlineData("2026-11-01T06:30:00Z", "2026-11-01T07:00:00Z")] // the day clocks go back
    public void PerDayQuota_ResetsAtTheNextMidnightPacific(string now, string expected) =>
        Assert.Equal(DateTimeOffset.Parse(expected), QuotaGrain.NextPacificMidnight(DateTimeOffset.Parse(now)));
}
