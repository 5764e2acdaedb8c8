using System.Text.Json.Serialization;

namespace GenerationWorker.GeminiEmulator;

/// <summary>
/// What the emulator saw: request counts per model and outcome, concurrency, the most requests of one model inside any
/// sliding window, per-second counts and a bounded log of recent requests. Thread-safe; also served as JSON by
/// <c>GET /_emulator/stats</c>.
/// </summary>
public sealed class EmulatorStats
{
    /// <summary>How many per-second counts each model keeps (the most recent ones).</summary>
    public const int PerSecondCapacity = 3600;

    private readonly Lock _sync = new();
    private readonly TimeProvider _time;
    private readonly Dictionary<string, ModelCounters> _models = new(StringComparer.Ordinal);
    private readonly RequestLogEntry[] _log;
    private int _logNext;
    private int _logCount;
    private long _total;
    private int _inFlight;
    private int _maxInFlight;

    /// <summary>Creates empty statistics.</summary>
    /// <param name="time">The clock that stamps arrivals.</param>
    /// <param name="window">The sliding window length of <see cref="ModelStats.MaxRequestsInAnyWindow"/>.</param>
    /// <param name="logCapacity">How many recent requests the log keeps.</param>
    public EmulatorStats(TimeProvider time, TimeSpan window, int logCapacity)
    {
        _time = time;
        Window = window;
        _log = new RequestLogEntry[logCapacity];
    }

    /// <summary>The sliding window length used by <see cref="ModelStats.MaxRequestsInAnyWindow"/>.</summary>
    public TimeSpan Window { get; }

    /// <summary>All <c>generateContent</c> requests received, whatever their answer.</summary>
    public long TotalRequests
    {
        get
        {
            lock (_sync)
            {
                return _total;
            }
        }
    }

    /// <summary>Requests being handled right now (including hanging ones).</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>The most requests ever handled at the same time.</summary>
    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    /// <summary>A consistent copy of everything.</summary>
    public EmulatorStatsSnapshot Snapshot()
    {
        lock (_sync)
        {
            var models = _models.ToDictionary(pair => pair.Key, pair => pair.Value.ToStats(), StringComparer.Ordinal);
            var log = new RequestLogEntry[_logCount];
            for (var i = 0; i < _logCount; i++)
            {
                log[i] = _log[(_logNext - _logCount + i + _log.Length) % _log.Length];
            }

            return new EmulatorStatsSnapshot(
                _total,
                _inFlight,
                _maxInFlight,
                Window.TotalSeconds,
                models.Count == 0 ? 0 : models.Values.Max(m => m.MaxRequestsInAnyWindow),
                models,
                log);
        }
    }

    /// <summary>The statistics of one model (all zero when it was never called).</summary>
    public ModelStats ForModel(string model)
    {
        lock (_sync)
        {
            return _models.TryGetValue(model, out var counters) ? counters.ToStats() : ModelCounters.Empty;
        }
    }

    /// <summary>Forgets everything seen so far.</summary>
    public void Reset()
    {
        lock (_sync)
        {
            _models.Clear();
            _logNext = 0;
            _logCount = 0;
            _total = 0;
            _maxInFlight = _inFlight;
        }
    }

    /// <summary>Counts an arriving request and returns its arrival time.</summary>
    internal DateTimeOffset Arrive(string model)
    {
        var inFlight = Interlocked.Increment(ref _inFlight);
        var max = Volatile.Read(ref _maxInFlight);
        while (inFlight > max && Interlocked.CompareExchange(ref _maxInFlight, inFlight, max) is var seen && seen != max)
        {
            max = seen;
        }

        lock (_sync)
        {
            var now = _time.GetUtcNow();
            _total++;
            if (!_models.TryGetValue(model, out var counters))
            {
                counters = new ModelCounters();
                _models[model] = counters;
            }

            counters.Arrive(now, Window);
            return now;
        }
    }

    /// <summary>Records how a request ended.</summary>
    internal void Complete(RequestLogEntry entry)
    {
        Interlocked.Decrement(ref _inFlight);
        lock (_sync)
        {
            if (_models.TryGetValue(entry.Model, out var counters))
            {
                counters.Complete(entry.Outcome);
            }

            if (_log.Length > 0)
            {
                _log[_logNext] = entry;
                _logNext = (_logNext + 1) % _log.Length;
                _logCount = Math.Min(_logCount + 1, _log.Length);
            }
        }
    }

    private sealed class ModelCounters
    {
        public static readonly ModelStats Empty = new(0, 0, 0, 0, 0, 0, 0, 0, []);

        private readonly Queue<DateTimeOffset> _window = new();
        private readonly List<SecondCount> _perSecond = [];
        private long _requests;
        private long _successes;
        private long _quotaRejections;
        private long _injectedThrottles;
        private long _faults;
        private long _clientErrors;
        private long _abandoned;
        private int _maxInWindow;

        public void Arrive(DateTimeOffset now, TimeSpan window)
        {
            _requests++;

            // The window ending at this arrival is (now - window, now]. The maximum over all windows is reached by one
            // that ends at an arrival, so checking at each arrival is exact.
            while (_window.TryPeek(out var oldest) && oldest <= now - window)
            {
                _window.Dequeue();
            }

            _window.Enqueue(now);
            _maxInWindow = Math.Max(_maxInWindow, _window.Count);

            var second = now.ToUnixTimeSeconds();
            if (_perSecond.Count > 0 && _perSecond[^1].UnixSecond == second)
            {
                _perSecond[^1] = _perSecond[^1] with { Count = _perSecond[^1].Count + 1 };
            }
            else
            {
                if (_perSecond.Count == PerSecondCapacity)
                {
                    _perSecond.RemoveAt(0);
                }

                _perSecond.Add(new SecondCount(second, 1));
            }
        }

        public void Complete(RequestOutcome outcome)
        {
            switch (outcome)
            {
                case RequestOutcome.Success: _successes++; break;
                case RequestOutcome.QuotaExceeded: _quotaRejections++; break;
                case RequestOutcome.InjectedThrottle: _injectedThrottles++; break;
                case RequestOutcome.Fault: _faults++; break;
                case RequestOutcome.ClientError: _clientErrors++; break;
                case RequestOutcome.Abandoned: _abandoned++; break;
            }
        }

        public ModelStats ToStats() => new(
            _requests, _successes, _quotaRejections, _injectedThrottles, _faults, _clientErrors, _abandoned, _maxInWindow,
            [.. _perSecond]);
    }
}

/// <summary>A copy of <see cref="EmulatorStats"/> at one moment (the JSON of <c>GET /_emulator/stats</c>).</summary>
/// <param name="TotalRequests">All <c>generateContent</c> requests received.</param>
/// <param name="InFlight">Requests being handled at the moment of the copy.</param>
/// <param name="MaxInFlight">The most requests ever handled at the same time.</param>
/// <param name="WindowSeconds">The sliding window length of the window maxima, in seconds.</param>
/// <param name="MaxRequestsInAnyWindow">The largest <see cref="ModelStats.MaxRequestsInAnyWindow"/> of all models.</param>
/// <param name="Models">Per model id (as requested, known or not).</param>
/// <param name="RecentRequests">The most recent requests, oldest first.</param>
public sealed record EmulatorStatsSnapshot(
    long TotalRequests,
    int InFlight,
    int MaxInFlight,
    double WindowSeconds,
    int MaxRequestsInAnyWindow,
    IReadOnlyDictionary<string, ModelStats> Models,
    IReadOnlyList<RequestLogEntry> RecentRequests);

/// <summary>What one model received.</summary>
/// <param name="Requests">Requests received, whatever their answer.</param>
/// <param name="Successes">Answers with an image.</param>
/// <param name="QuotaRejections">429s sent because the configured quota was exhausted.</param>
/// <param name="InjectedThrottles">429s injected as faults.</param>
/// <param name="Faults">Other injected faults: 500, 503, IMAGE_SAFETY, NO_IMAGE, refusals, blocks.</param>
/// <param name="ClientErrors">400/403/404 answers (key, model, validation).</param>
/// <param name="Abandoned">Requests the client gave up on before an answer (hangs, long latency).</param>
/// <param name="MaxRequestsInAnyWindow">The most requests that arrived within any sliding window of
/// <see cref="EmulatorStats.Window"/>, computed from exact arrival times (all requests, whatever their answer).</param>
/// <param name="PerSecond">Requests per second of arrival, oldest first (at most
/// <see cref="EmulatorStats.PerSecondCapacity"/> seconds).</param>
public sealed record ModelStats(
    long Requests,
    long Successes,
    long QuotaRejections,
    long InjectedThrottles,
    long Faults,
    long ClientErrors,
    long Abandoned,
    int MaxRequestsInAnyWindow,
    IReadOnlyList<SecondCount> PerSecond);

/// <summary>How many requests arrived during one second.</summary>
/// <param name="UnixSecond">The second, as Unix time.</param>
/// <param name="Count">Requests that arrived in it.</param>
public sealed record SecondCount(long UnixSecond, int Count);

/// <summary>One request as the emulator saw it.</summary>
/// <param name="ArrivedAt">When it arrived.</param>
/// <param name="Model">The model id in the URL.</param>
/// <param name="Status">The HTTP status sent, or 0 when the client left first.</param>
/// <param name="Outcome">How it ended.</param>
/// <param name="Fault">The injected fault, if any.</param>
/// <param name="PromptStart">The first 80 characters of the prompt.</param>
/// <param name="AspectRatio">The requested aspect ratio, if any.</param>
/// <param name="ImageSize">The requested image size, if any.</param>
/// <param name="ReferenceImages">How many inline images the request carried.</param>
public sealed record RequestLogEntry(
    DateTimeOffset ArrivedAt,
    string Model,
    int Status,
    RequestOutcome Outcome,
    FaultKind? Fault,
    string PromptStart,
    string? AspectRatio,
    string? ImageSize,
    int ReferenceImages);

/// <summary>How one request ended.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RequestOutcome>))]
public enum RequestOutcome
{
    /// <summary>200 with an image.</summary>
    Success,

    /// <summary>429 because the configured quota was exhausted.</summary>
    QuotaExceeded,

    /// <summary>429 injected as a fault.</summary>
    InjectedThrottle,

    /// <summary>Another injected fault (500, 503, or a 200 without image).</summary>
    Fault,

    /// <summary>400, 403 or 404 about the key, the model or the request.</summary>
    ClientError,

    /// <summary>The client left before the answer.</summary>
    Abandoned,
}
