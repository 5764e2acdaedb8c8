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
    private readonly VideoCounters _video;
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
        _video = new VideoCounters(logCapacity);
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
                log,
                _video.ToSnapshot());
        }
    }

    /// <summary>What the Veo endpoints saw (a copy).</summary>
    public VideoStatsSnapshot Video
    {
        get
        {
            lock (_sync)
            {
                return _video.ToSnapshot();
            }
        }
    }

    /// <summary>The recent <c>generateContent</c> requests (oldest first) whose text parts contain
    /// <paramref name="promptContains"/> (ordinal), and whose model is <paramref name="model"/> when given.</summary>
    public IReadOnlyList<RequestLogEntry> RequestsFor(string promptContains, string? model = null) =>
        [.. Snapshot().RecentRequests.Where(entry =>
            (model is null || string.Equals(entry.Model, model, StringComparison.Ordinal))
            && (entry.Parts ?? []).Any(part => part.Text?.Contains(promptContains, StringComparison.Ordinal) == true))];

    /// <summary>Veo operations created (billed starts, lost answers included) whose prompt contains
    /// <paramref name="promptContains"/> (ordinal).</summary>
    public int VideoStartsFor(string promptContains)
    {
        lock (_sync)
        {
            return _video.StartsFor(promptContains);
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
            _video.Clear();
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

    /// <summary>Counts a <c>predictLongRunning</c> request, whatever its answer.</summary>
    internal void VideoStartReceived()
    {
        lock (_sync)
        {
            _video.StartRequests++;
        }
    }

    /// <summary>Counts a start that got no operation: <paramref name="outcome"/> says why.</summary>
    internal void VideoStartRefused(RequestOutcome outcome)
    {
        lock (_sync)
        {
            switch (outcome)
            {
                case RequestOutcome.QuotaExceeded: _video.QuotaRejections++; break;
                case RequestOutcome.ClientError: _video.ClientErrors++; break;
                default: _video.StartFaults++; break;
            }
        }
    }

    /// <summary>Counts a created operation; <paramref name="answerLost"/> when its answer is then cut.</summary>
    internal void VideoStarted(VideoOperation operation, bool answerLost)
    {
        lock (_sync)
        {
            _video.Started(operation, answerLost);
        }
    }

    /// <summary>Counts a poll of an existing operation.</summary>
    internal void VideoPolled(string name)
    {
        lock (_sync)
        {
            _video.Polls++;
            _video.Touch(name, entry => entry with { Polls = entry.Polls + 1 });
        }
    }

    /// <summary>Counts a download of an operation's file: served, or failed with an injected 503.</summary>
    internal void VideoDownloaded(string name, bool failed)
    {
        lock (_sync)
        {
            if (failed)
            {
                _video.DownloadFailures++;
                _video.Touch(name, entry => entry with { DownloadFailures = entry.DownloadFailures + 1 });
            }
            else
            {
                _video.Downloads++;
                _video.Touch(name, entry => entry with { Downloads = entry.Downloads + 1 });
            }
        }
    }

    private sealed class VideoCounters(int capacity)
    {
        private readonly Dictionary<string, int> _startsByPrompt = new(StringComparer.Ordinal);
        private readonly List<VideoOperationEntry> _operations = [];

        public long StartRequests { get; set; }

        public long QuotaRejections { get; set; }

        public long ClientErrors { get; set; }

        public long StartFaults { get; set; }

        public long Starts { get; set; }

        public long LostStartAnswers { get; set; }

        public long Polls { get; set; }

        public long Downloads { get; set; }

        public long DownloadFailures { get; set; }

        public void Started(VideoOperation operation, bool answerLost)
        {
            Starts++;
            LostStartAnswers += answerLost ? 1 : 0;
            var request = operation.Request;
            _startsByPrompt[request.Prompt] = _startsByPrompt.GetValueOrDefault(request.Prompt) + 1;
            if (capacity == 0)
            {
                return;
            }

            if (_operations.Count == capacity)
            {
                _operations.RemoveAt(0);
            }

            _operations.Add(new VideoOperationEntry(
                operation.Name, request.Model, request.Prompt, request.AspectRatio, request.Resolution, request.SampleCount,
                request.DurationSeconds, request.Image, operation.CreatedAt, operation.End, answerLost, 0, 0, 0));
        }

        public void Touch(string name, Func<VideoOperationEntry, VideoOperationEntry> change)
        {
            var index = _operations.FindLastIndex(entry => entry.Name == name);
            if (index >= 0)
            {
                _operations[index] = change(_operations[index]);
            }
        }

        public int StartsFor(string promptContains) =>
            _startsByPrompt.Where(pair => pair.Key.Contains(promptContains, StringComparison.Ordinal)).Sum(pair => pair.Value);

        public void Clear()
        {
            _startsByPrompt.Clear();
            _operations.Clear();
            (StartRequests, QuotaRejections, ClientErrors, StartFaults, Starts, LostStartAnswers) = (0, 0, 0, 0, 0, 0);
            (Polls, Downloads, DownloadFailures) = (0, 0, 0);
        }

        public VideoStatsSnapshot ToSnapshot() => new(
            StartRequests, Starts, LostStartAnswers, QuotaRejections, StartFaults, ClientErrors, Polls, Downloads, DownloadFailures,
            new Dictionary<string, int>(_startsByPrompt, StringComparer.Ordinal), [.. _operations]);
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
/// <param name="Video">What the Veo endpoints saw (not counted in the figures above).</param>
public sealed record EmulatorStatsSnapshot(
    long TotalRequests,
    int InFlight,
    int MaxInFlight,
    double WindowSeconds,
    int MaxRequestsInAnyWindow,
    IReadOnlyDictionary<string, ModelStats> Models,
    IReadOnlyList<RequestLogEntry> RecentRequests,
    VideoStatsSnapshot? Video = null);

/// <summary>What the Veo endpoints saw since start or the last reset.</summary>
/// <param name="StartRequests"><c>predictLongRunning</c> requests received, whatever their answer.</param>
/// <param name="Starts">Operations created: the billed starts, including those whose answer was cut.</param>
/// <param name="LostStartAnswers">Starts whose operation was created but whose answer was cut (<c>lost-start</c>).</param>
/// <param name="QuotaRejections">Starts answered 429 by the configured quota (no operation).</param>
/// <param name="StartFaults">Starts answered with an injected fault (429, 500, 503, hang; no operation).</param>
/// <param name="ClientErrors">Starts answered 400/403/404 (no operation).</param>
/// <param name="Polls">Polls of existing operations.</param>
/// <param name="Downloads">Files served.</param>
/// <param name="DownloadFailures">Downloads answered with an injected 503.</param>
/// <param name="StartsByPrompt">Operations created per exact prompt.</param>
/// <param name="Operations">The most recent operations, oldest first (at most <c>EMULATOR_LOG_CAPACITY</c>).</param>
public sealed record VideoStatsSnapshot(
    long StartRequests,
    long Starts,
    long LostStartAnswers,
    long QuotaRejections,
    long StartFaults,
    long ClientErrors,
    long Polls,
    long Downloads,
    long DownloadFailures,
    IReadOnlyDictionary<string, int> StartsByPrompt,
    IReadOnlyList<VideoOperationEntry> Operations);

/// <summary>One Veo operation as the emulator created it, with what happened to it since.</summary>
/// <param name="Name"><c>models/{model}/operations/{id}</c>.</param>
/// <param name="Model">The model id.</param>
/// <param name="Prompt">instances[0].prompt, whole.</param>
/// <param name="AspectRatio">The aspect ratio (given or the default 16:9).</param>
/// <param name="Resolution">The resolution (given or the default 720p).</param>
/// <param name="SampleCount">The sample count (given or 1).</param>
/// <param name="DurationSeconds">The duration (given or 8).</param>
/// <param name="Image">The start image's MIME type and pixel size, or null for text-to-video.</param>
/// <param name="CreatedAt">When the start was accepted.</param>
/// <param name="End">How it ends.</param>
/// <param name="AnswerLost">True when the start's answer was cut (<c>lost-start</c>).</param>
/// <param name="Polls">Polls of it so far.</param>
/// <param name="Downloads">Downloads of its files served.</param>
/// <param name="DownloadFailures">Downloads of its files answered 503.</param>
public sealed record VideoOperationEntry(
    string Name,
    string Model,
    string Prompt,
    string AspectRatio,
    string Resolution,
    int SampleCount,
    int DurationSeconds,
    ReceivedPart? Image,
    DateTimeOffset CreatedAt,
    VideoEnd End,
    bool AnswerLost,
    int Polls,
    int Downloads,
    int DownloadFailures);

/// <summary>What one model received.</summary>
/// <param name="Requests">Requests received, whatever their answer.</param>
/// <param name="Successes">Answers with an image.</param>
/// <param name="QuotaRejections">429s sent because the configured quota was exhausted.</param>
/// <param name="InjectedThrottles">429s injected as faults.</param>
/// <param name="Faults">Other injected faults: 500, 503, FAILED_PRECONDITION, IMAGE_SAFETY, NO_IMAGE, refusals, blocks.</param>
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
/// <param name="Parts">The request's parts in order (text with its whole text, images with MIME type and pixel size);
/// empty when the body could not be read.</param>
/// <param name="AnsweredAspectRatio">The ratio of the image answered (the requested one, or for an edit without one the
/// ratio nearest to the first input image), or null when no image was sent.</param>
/// <param name="AnsweredWidth">The answered image's width in pixels, or null.</param>
/// <param name="AnsweredHeight">The answered image's height in pixels, or null.</param>
public sealed record RequestLogEntry(
    DateTimeOffset ArrivedAt,
    string Model,
    int Status,
    RequestOutcome Outcome,
    FaultKind? Fault,
    string PromptStart,
    string? AspectRatio,
    string? ImageSize,
    int ReferenceImages,
    IReadOnlyList<ReceivedPart>? Parts = null,
    string? AnsweredAspectRatio = null,
    int? AnsweredWidth = null,
    int? AnsweredHeight = null)
{
    /// <summary>The text parts joined by newlines: the whole prompt, where <see cref="PromptStart"/> is cut.</summary>
    public string Prompt => string.Join('\n', (Parts ?? []).Where(p => p.Kind == ReceivedPart.TextKind).Select(p => p.Text));
}

/// <summary>One part of a received request.</summary>
/// <param name="Kind"><c>text</c>, <c>image</c> (inline data) or <c>file</c> (a fileData reference).</param>
/// <param name="Text">The text of a text part.</param>
/// <param name="MimeType">The MIME type of an image or file part.</param>
/// <param name="Width">An inline image's width in pixels read from its header, or null when unreadable.</param>
/// <param name="Height">An inline image's height in pixels, or null.</param>
public sealed record ReceivedPart(string Kind, string? Text, string? MimeType, int? Width, int? Height)
{
    /// <summary>The kind of a text part.</summary>
    public const string TextKind = "text";

    /// <summary>The kind of an inline image part.</summary>
    public const string ImageKind = "image";

    /// <summary>The kind of a fileData part.</summary>
    public const string FileKind = "file";
}

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
