namespace GenerationWorker.Grains.Quota;

/// <summary>The cluster's one Gemini budget.</summary>
public sealed class QuotaOptions
{
    /// <summary><c>MAX_JOBS_PER_MINUTE</c>: Gemini requests (every variant, every retry) per window; default 60.</summary>
    public int RequestsPerWindow { get; set; } = 60;

    /// <summary><c>QUOTA_WINDOW_SECONDS</c>: the window length; default 60 s.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// <c>QUOTA_MARGIN_MS</c>: added to the window before a slot is reused. A request reaches Gemini a little after it
    /// was announced (a new connection's handshake, a busy CPU) and a later request on the same slot may reach it
    /// faster; the margin absorbs that difference. Default: 2.5% of the window, at least 500 ms and at most 1.5 s
    /// (1.5 s for the 60 s window: at most 97.6% of the budget can be used).
    /// </summary>
    public TimeSpan? Margin { get; set; }

    /// <summary>The margin in force: <see cref="Margin"/>, or the default derived from the window.</summary>
    public TimeSpan SafetyMargin =>
        Margin ?? TimeSpan.FromTicks(Math.Clamp(Window.Ticks / 40, TimeSpan.TicksPerMillisecond * 500, TimeSpan.TicksPerMillisecond * 1500));
}
