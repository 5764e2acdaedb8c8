using System.Collections.Concurrent;

namespace GenerationWorker.GeminiEmulator;

/// <summary>
/// The faults in force, changeable while the emulator runs (in-process, or through <c>POST /_emulator/faults</c>).
/// Thread-safe. Decides, for each admitted request, whether it fails and how long it waits first.
/// </summary>
public sealed class EmulatorFaults
{
    private readonly Lock _sync = new();
    private readonly FaultSettings _initial;
    private readonly Queue<ScriptedStep> _script = new();
    private readonly ConcurrentDictionary<string, int> _promptCounts = new(StringComparer.Ordinal);
    private FaultSettings _settings;
    private Random _random;

    /// <summary>Creates the faults in force at start.</summary>
    /// <exception cref="ArgumentException">The settings are invalid.</exception>
    public EmulatorFaults(FaultSettings initial)
    {
        ThrowIfInvalid(initial);
        _initial = initial;
        _settings = initial;
        _random = new Random(initial.Seed);
        EnqueueScript(initial.Next);
    }

    /// <summary>The settings in force now (the probabilities and latency; <c>Next</c> as it was given).</summary>
    public FaultSettings Settings
    {
        get
        {
            lock (_sync)
            {
                return _settings;
            }
        }
    }

    /// <summary>How many scripted answers are still queued.</summary>
    public int PendingScripted
    {
        get
        {
            lock (_sync)
            {
                return _script.Sum(step => step.Remaining);
            }
        }
    }

    /// <summary>Replaces the settings: reseeds the random generator and replaces the scripted queue with
    /// <see cref="FaultSettings.Next"/>.</summary>
    /// <exception cref="ArgumentException">The settings are invalid; nothing changes.</exception>
    public void Configure(FaultSettings settings)
    {
        ThrowIfInvalid(settings);
        lock (_sync)
        {
            _settings = settings;
            _random = new Random(settings.Seed);
            _script.Clear();
            EnqueueScript(settings.Next);
        }
    }

    /// <summary>Makes the next <paramref name="count"/> admitted requests answer <paramref name="kind"/>, after
    /// those already queued.</summary>
    public void Enqueue(FaultKind kind, int count = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        lock (_sync)
        {
            _script.Enqueue(new ScriptedStep(kind, count));
        }
    }

    /// <summary>Appends scripted answers given by name.</summary>
    /// <exception cref="ArgumentException">A name is unknown or a count below 1; nothing changes.</exception>
    public void Enqueue(IReadOnlyList<ScriptedFault> steps)
    {
        if (CheckScript(steps) is { } error)
        {
            throw new ArgumentException(error, nameof(steps));
        }

        lock (_sync)
        {
            EnqueueScript(steps);
        }
    }

    /// <summary>Counts one more event of <paramref name="key"/> and returns the count (1 for the first), for the
    /// <c>-once</c>/<c>-xN</c> directives that are not answer faults (a lost Veo start); forgotten by <see cref="Reset"/>.</summary>
    internal int Count(string key) => _promptCounts.AddOrUpdate(key, 1, (_, n) => n + 1);

    /// <summary>Back to the settings given at start; forgets the queue and the per-prompt directive counters.</summary>
    public void Reset()
    {
        lock (_sync)
        {
            _settings = _initial;
            _random = new Random(_initial.Seed);
            _script.Clear();
            EnqueueScript(_initial.Next);
            _promptCounts.Clear();
        }
    }

    /// <summary>Describes what is wrong with <paramref name="settings"/>, or null when they are valid.</summary>
    public static string? Check(FaultSettings settings)
    {
        double[] rates =
        [
            settings.InternalError, settings.Unavailable, settings.ResourceExhausted, settings.QuotaRetry,
            settings.Hang, settings.ImageSafety, settings.NoImage, settings.Refusal, settings.Blocked,
        ];
        if (rates.Any(rate => rate is < 0 or > 1 || double.IsNaN(rate)))
        {
            return "every probability must be between 0 and 1";
        }

        if (rates.Sum() > 1.000001)
        {
            return "the probabilities must not add up to more than 1";
        }

        if (settings.LatencyMs < 0 || settings.LatencyMinMs < 0 || settings.LatencyMaxMs < 0)
        {
            return "latency must not be negative";
        }

        if ((settings.LatencyMinMs is null) != (settings.LatencyMaxMs is null) || settings.LatencyMinMs > settings.LatencyMaxMs)
        {
            return "latencyMinMs and latencyMaxMs go together, min <= max";
        }

        if (settings.RetryDelaySeconds < 0 || double.IsNaN(settings.RetryDelaySeconds))
        {
            return "retryDelaySeconds must not be negative";
        }

        return settings.Next is null ? null : CheckScript(settings.Next);
    }

    /// <summary>Decides the answer to an admitted request: a prompt directive first, then the scripted queue, then the
    /// probabilities.</summary>
    /// <param name="prompt">The prompt, whose requests the <c>-once</c>/<c>-xN</c> counters count.</param>
    /// <param name="model">The requested model; a directive for another model (<c>@model</c>) does not apply.</param>
    /// <param name="directives">The prompt's directives.</param>
    /// <param name="randomFaults">False to skip the scripted queue and the probabilities (Veo starts take directives only).</param>
    internal FaultDecision Decide(string prompt, string model, PromptDirectives directives, bool randomFaults = true)
    {
        lock (_sync)
        {
            var settings = _settings;
            FaultKind kind;
            if (directives.FaultAppliesTo(model) && directives.Fault is { } directed)
            {
                var seen = directives.Times is null ? 0 : _promptCounts.AddOrUpdate(prompt, 1, (_, n) => n + 1);
                kind = directives.Times is null || seen <= directives.Times ? directed : FaultKind.None;
            }
            else if (!randomFaults)
            {
                kind = FaultKind.None;
            }
            else if (_script.TryPeek(out var step))
            {
                kind = step.Kind;
                if (--step.Remaining == 0)
                {
                    _script.Dequeue();
                }
            }
            else
            {
                kind = Draw(settings, _random.NextDouble());
            }

            var latency = directives.Delay ?? (randomFaults ? DrawLatency(settings) : TimeSpan.Zero);
            var retryDelay = directives.RetryDelay ?? TimeSpan.FromSeconds(settings.RetryDelaySeconds);
            return new FaultDecision(kind, latency, retryDelay);
        }
    }

    private TimeSpan DrawLatency(FaultSettings settings)
    {
        if (settings.LatencyMinMs is { } min && settings.LatencyMaxMs is { } max)
        {
            return TimeSpan.FromMilliseconds(min + (max - min) * _random.NextDouble());
        }

        return settings.LatencyMs is { } fixedMs ? TimeSpan.FromMilliseconds(fixedMs) : TimeSpan.Zero;
    }

    private static FaultKind Draw(FaultSettings settings, double u)
    {
        (double Rate, FaultKind Kind)[] table =
        [
            (settings.InternalError, FaultKind.Internal),
            (settings.Unavailable, FaultKind.Unavailable),
            (settings.ResourceExhausted, FaultKind.ResourceExhausted),
            (settings.QuotaRetry, FaultKind.QuotaRetry),
            (settings.Hang, FaultKind.Hang),
            (settings.ImageSafety, FaultKind.ImageSafety),
            (settings.NoImage, FaultKind.NoImage),
            (settings.Refusal, FaultKind.Refusal),
            (settings.Blocked, FaultKind.Blocked),
        ];
        foreach (var (rate, kind) in table)
        {
            if (u < rate)
            {
                return kind;
            }

            u -= rate;
        }

        return FaultKind.None;
    }

    private void EnqueueScript(IReadOnlyList<ScriptedFault>? steps)
    {
        foreach (var step in steps ?? [])
        {
            FaultNames.TryParse(step.Fault, out var kind);
            _script.Enqueue(new ScriptedStep(kind, step.Count));
        }
    }

    private static string? CheckScript(IReadOnlyList<ScriptedFault> steps)
    {
        foreach (var step in steps)
        {
            if (step is null || !FaultNames.TryParse(step.Fault ?? "", out _))
            {
                return $"unknown scripted fault '{step?.Fault}' (use ok, 500, 503, 429, 429-retry, hang, IMAGE_SAFETY, NO_IMAGE, refuse, blocked, precondition)";
            }

            if (step.Count < 1)
            {
                return "a scripted fault's count must be at least 1";
            }
        }

        return null;
    }

    private static void ThrowIfInvalid(FaultSettings settings)
    {
        if (Check(settings) is { } error)
        {
            throw new ArgumentException(error, nameof(settings));
        }
    }

    private sealed class ScriptedStep(FaultKind kind, int remaining)
    {
        public FaultKind Kind { get; } = kind;

        public int Remaining { get; set; } = remaining;
    }
}

/// <summary>The answer chosen for one admitted request.</summary>
/// <param name="Kind">The fault, or <see cref="FaultKind.None"/> for a normal answer.</param>
/// <param name="Latency">How long to wait before answering.</param>
/// <param name="RetryDelay">The retryDelay of an injected 429 with RetryInfo.</param>
internal readonly record struct FaultDecision(FaultKind Kind, TimeSpan Latency, TimeSpan RetryDelay);
