namespace GenerationWorker.Grains.Quota;

/// <summary>The cluster's one Gemini budget.</summary>
public sealed class QuotaOptions
{
    /// <summary><c>MAX_JOBS_PER_MINUTE</c>: Gemini requests (every variant, every retry) per window; default 60.</summary>
    public int RequestsPerWindow { get; set; } = 60;

    /// <summary><c>QUOTA_WINDOW_SECONDS</c>: the window length; default 60 s.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Added to the window before a slot is reused, so that a request sent a little after it was announced still falls
    /// outside Gemini's window: 2% of the window, at most 1 s.
    /// </summary>
    public TimeSpan SafetyMargin => TimeSpan.FromTicks(Math.Min(Window.Ticks / 50, TimeSpan.TicksPerSecond));
}
