namespace GenerationWorker.Grains.Quota;

/// <summary>Gemini's per-day quotas reset at midnight Pacific time.</summary>
public static class QuotaClock
{
    private static readonly TimeZoneInfo Pacific = TimeZoneInfo.FindSystemTimeZoneById("America/Los_Angeles");

    /// <summary>Midnight in Pacific time after <paramref name="now"/>.</summary>
    public static DateTimeOffset NextPacificMidnight(DateTimeOffset now)
    {
        var local = TimeZoneInfo.ConvertTime(now, Pacific);
        var midnight = local.Date.AddDays(1);
        return new DateTimeOffset(midnight, Pacific.GetUtcOffset(midnight));
    }

    /// <summary>The Pacific calendar day of <paramref name="now"/>.</summary>
    public static DateOnly PacificDay(DateTimeOffset now) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, Pacific).DateTime);

    /// <summary>The part of the Pacific day elapsed at <paramref name="now"/>, from 0 to 1 (days of 23 or 25 hours too).</summary>
    public static double PacificDayElapsed(DateTimeOffset now)
    {
        var end = NextPacificMidnight(now);
        var local = TimeZoneInfo.ConvertTime(now, Pacific);
        var start = new DateTimeOffset(local.Date, Pacific.GetUtcOffset(local.Date));
        return Math.Clamp((now - start) / (end - start), 0, 1);
    }
}
