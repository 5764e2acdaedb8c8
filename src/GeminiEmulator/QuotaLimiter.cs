namespace GenerationWorker.GeminiEmulator;

/// <summary>
/// Google's per-project, per-model request quotas: at most N admitted requests in any sliding window (over actual
/// arrival times), and optionally at most M per Pacific calendar day. Requests it rejects do not count.
/// </summary>
internal sealed class QuotaLimiter(EmulatorOptions options)
{
    /// <summary>The quotaId of the per-window limit.</summary>
    public const string PerMinuteQuotaId = "GenerateRequestsPerMinutePerProjectPerModel";

    /// <summary>The quotaId of the per-day limit.</summary>
    public const string PerDayQuotaId = "GenerateRequestsPerDayPerProjectPerModel";

    private static readonly TimeZoneInfo Pacific = FindPacific();

    private readonly Lock _sync = new();
    private readonly Dictionary<string, ModelQuota> _models = new(StringComparer.Ordinal);

    /// <summary>Admits a request (counting it) or says which limit it exceeds and when a slot frees.</summary>
    public QuotaAdmission Admit(string model)
    {
        var windowLimit = options.WindowLimitFor(model);
        var dayLimit = options.DayLimitFor(model);
        lock (_sync)
        {
            var now = options.TimeProvider.GetUtcNow();
            if (windowLimit == 0 && dayLimit == 0)
            {
                return new QuotaAdmission.Admitted(model, now);
            }

            if (!_models.TryGetValue(model, out var quota))
            {
                quota = new ModelQuota();
                _models[model] = quota;
            }

            while (quota.Window.First is { } oldest && oldest.Value <= now - options.Window)
            {
                quota.Window.RemoveFirst();
            }

            var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, Pacific).DateTime);
            if (quota.Day != today)
            {
                quota.Day = today;
                quota.DayCount = 0;
            }

            if (dayLimit > 0 && quota.DayCount >= dayLimit)
            {
                return new QuotaAdmission.Exceeded(PerDayQuotaId, dayLimit, NextPacificMidnight(now) - now);
            }

            if (windowLimit > 0 && quota.Window.Count >= windowLimit)
            {
                // The slot frees when the oldest admitted request leaves the window (now - window, now].
                return new QuotaAdmission.Exceeded(PerMinuteQuotaId, windowLimit, quota.Window.First!.Value + options.Window - now);
            }

            quota.Window.AddLast(now);
            quota.DayCount++;
            return new QuotaAdmission.Admitted(model, now);
        }
    }

    /// <summary>Takes back an admission (for an injected 429, which must not count either).</summary>
    public void Release(QuotaAdmission.Admitted admission)
    {
        lock (_sync)
        {
            if (!_models.TryGetValue(admission.Model, out var quota))
            {
                return;
            }

            for (var node = quota.Window.Last; node is not null; node = node.Previous)
            {
                if (node.Value == admission.At)
                {
                    quota.Window.Remove(node);
                    quota.DayCount = Math.Max(0, quota.DayCount - 1);
                    return;
                }
            }
        }
    }

    /// <summary>Empties every window and day count.</summary>
    public void Reset()
    {
        lock (_sync)
        {
            _models.Clear();
        }
    }

    private static DateTimeOffset NextPacificMidnight(DateTimeOffset now)
    {
        var local = TimeZoneInfo.ConvertTime(now, Pacific);
        var midnight = local.Date.AddDays(1);
        return new DateTimeOffset(midnight, Pacific.GetUtcOffset(midnight));
    }

    private static TimeZoneInfo FindPacific()
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById("America/Los_Angeles");
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return TimeZoneInfo.CreateCustomTimeZone("Pacific", TimeSpan.FromHours(-8), "Pacific", "Pacific");
        }
    }

    private sealed class ModelQuota
    {
        public LinkedList<DateTimeOffset> Window { get; } = new();

        public DateOnly Day { get; set; }

        public int DayCount { get; set; }
    }
}

/// <summary>The quota's answer to one request.</summary>
internal abstract record QuotaAdmission
{
    private QuotaAdmission() { }

    /// <summary>Counted; go on.</summary>
    /// <param name="Model">The model it counted for.</param>
    /// <param name="At">The time it was counted at.</param>
    public sealed record Admitted(string Model, DateTimeOffset At) : QuotaAdmission;

    /// <summary>Rejected, not counted.</summary>
    /// <param name="QuotaId">Which limit.</param>
    /// <param name="Limit">Its value.</param>
    /// <param name="RetryDelay">The exact time until a slot frees.</param>
    public sealed record Exceeded(string QuotaId, int Limit, TimeSpan RetryDelay) : QuotaAdmission;
}
