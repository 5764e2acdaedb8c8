using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using GenerationWorker.Grains.Jobs;
using GenerationWorker.Interfaces;

namespace GenerationWorker.Grains.Telemetry;

/// <summary>
/// The worker's metrics (meter <c>GenerationWorker</c>) and traces (<see cref="ActivitySource"/>
/// <c>GenerationWorker</c>): a job attempt is a span, each Gemini request and each upload a child span of it. One per
/// silo (a singleton), injected where the worker records.
/// </summary>
/// <remarks>
/// The meter comes from the host's <see cref="IMeterFactory"/>; nothing is collected unless a listener (the
/// OpenTelemetry SDK when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set) subscribes. Tags never carry prompts, URLs or keys:
/// only job ids, silo ids, models and outcome kinds.
/// </remarks>
public sealed class WorkerTelemetry : IDisposable
{
    /// <summary>The name of the meter and of the activity source.</summary>
    public const string Name = "GenerationWorker";

    /// <summary>The quota gauges report only values refreshed within this time (the quota grain may have moved).</summary>
    private static readonly TimeSpan QuotaFreshness = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, int> _inFlightBySilo = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _pausedBySilo = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, BudgetSample> _budgetByModel = new(StringComparer.Ordinal);
    private (IReadOnlyList<ClientShare> Clients, long Timestamp) _shares = ([], 0);

    private readonly ActivitySource _source = new(Name);
    private readonly Counter<long> _jobsClaimed;
    private readonly Counter<long> _jobsEnded;
    private readonly Counter<long> _jobsRescued;
    private readonly Histogram<double> _jobDuration;
    private readonly Counter<long> _geminiRequests;
    private readonly Counter<long> _geminiCost;
    private readonly Histogram<double> _geminiDuration;

    /// <summary>Creates the instruments on the meter <see cref="Name"/> of <paramref name="meters"/>.</summary>
    public WorkerTelemetry(IMeterFactory meters)
    {
        var meter = meters.Create(Name);
        _jobsClaimed = meter.CreateCounter<long>("generation_worker.jobs.claimed", "{job}", "Claims of jobs (each spends an attempt).");
        _jobsEnded = meter.CreateCounter<long>("generation_worker.jobs.ended", "{job}", "Attempts ended, by outcome: completed, failed, retried, released, cancelled.");
        _jobsRescued = meter.CreateCounter<long>("generation_worker.jobs.rescued", "{job}", "Claims of lost workers put back, by new status.");
        _jobDuration = meter.CreateHistogram<double>("generation_worker.job.duration", "s", "Duration of a job attempt, by outcome.");
        _geminiRequests = meter.CreateCounter<long>("generation_worker.gemini.requests", "{request}", "Gemini requests, by model and outcome kind.");
        _geminiCost = meter.CreateCounter<long>("generation_worker.gemini.cost", "u{USD}", "Gemini spend in micro-dollars, by model, client and billing (billed or possibly_billed).");
        _geminiDuration = meter.CreateHistogram<double>("generation_worker.gemini.request.duration", "s", "Duration of a Gemini request, by model and outcome kind.");
        meter.CreateObservableGauge("generation_worker.jobs.in_flight", () => _inFlightBySilo.Select(s => new Measurement<int>(s.Value, new KeyValuePair<string, object?>("silo", s.Key))), "{job}", "Jobs running on each silo.");
        meter.CreateObservableGauge("generation_worker.quota.paused", () => _pausedBySilo.Select(s => new Measurement<int>(s.Value ? 1 : 0, new KeyValuePair<string, object?>("silo", s.Key))), null, "1 while a 429 pauses a Gemini model this silo's jobs wait for, as each silo last saw it.");
        meter.CreateObservableGauge("generation_worker.quota.used", () => FreshBudget(l => l.Used), "{request}", "Each model's limit in use: slots taken in the window (or granted today for a per-day limit), by model and limit.");
        meter.CreateObservableGauge("generation_worker.quota.limit", () => FreshBudget(l => l.Allowed), "{request}", "Each model's limit: N for a window, what the day's pacing released so far for a per-day limit.");
        meter.CreateObservableGauge("generation_worker.quota.client_requests", FreshShares, "{request}", "Requests written in the last window, by client (the 20 with the most): each client's share of the budget.");
        meter.CreateObservableGauge("generation_worker.quota.model_paused", () => FreshModels(m => m.PausedUntil is null ? 0 : 1), null, "1 while a 429 pauses the model.");
    }

    /// <summary>Starts the span of one job attempt (null when nobody listens).</summary>
    public Activity? StartJob(string jobId, int attempt)
    {
        var activity = _source.StartActivity("job", ActivityKind.Internal);
        activity?.SetTag("job.id", jobId);
        activity?.SetTag("job.attempt", attempt);
        return activity;
    }

    /// <summary>Records the end of a job attempt.</summary>
    public void JobEnded(JobOutcome ended, TimeSpan duration)
    {
        var outcome = ended switch
        {
            JobOutcome.Completed => "completed",
            JobOutcome.Failed => "failed",
            JobOutcome.Retried => "retried",
            JobOutcome.Cancelled => "cancelled",
            _ => "released",
        };
        var tag = new KeyValuePair<string, object?>("outcome", outcome);
        _jobsEnded.Add(1, tag);
        _jobDuration.Record(duration.TotalSeconds, tag);
        Activity.Current?.SetTag("job.outcome", outcome);
        if (outcome == "failed")
        {
            Activity.Current?.SetStatus(ActivityStatusCode.Error, outcome);
        }
    }

    /// <summary>Records a settled request's spend, in micro-dollars (nothing for 0).</summary>
    public void Cost(string model, string clientId, string billing, long micros)
    {
        if (micros > 0)
        {
            _geminiCost.Add(
                micros,
                new KeyValuePair<string, object?>("model", model),
                new KeyValuePair<string, object?>("client", clientId),
                new KeyValuePair<string, object?>("billing", billing));
        }
    }

    /// <summary>Records claimed jobs.</summary>
    public void Claimed(int count)
    {
        if (count > 0)
        {
            _jobsClaimed.Add(count);
        }
    }

    /// <summary>Records a rescued claim and its new status (pending or failed).</summary>
    public void Rescued(string status) => _jobsRescued.Add(1, new KeyValuePair<string, object?>("status", status));

    /// <summary>Sets the number of jobs running on <paramref name="silo"/>.</summary>
    public void InFlight(string silo, int count) => _inFlightBySilo[silo] = count;

    /// <summary>Sets whether <paramref name="silo"/> last saw the budget paused.</summary>
    public void QuotaPaused(string silo, bool paused) => _pausedBySilo[silo] = paused;

    /// <summary>Sets the clients' shares of the last window as the quota grain sees them now.</summary>
    public void Shares(IReadOnlyList<ClientShare> clients) => _shares = (clients, Stopwatch.GetTimestamp());

    /// <summary>Sets a model's budget as the quota grain sees it now.</summary>
    public void Budget(ModelBudget model) => _budgetByModel[model.Model] = new BudgetSample(model, Stopwatch.GetTimestamp());

    /// <summary>Starts the span and timer of one Gemini request; finish it with <see cref="GeminiCall.Finish"/>.</summary>
    public GeminiCall StartGeminiCall(string model, int variant)
    {
        var activity = _source.StartActivity("gemini.generate", ActivityKind.Client);
        activity?.SetTag("gemini.model", model);
        activity?.SetTag("job.variant", variant);
        return new GeminiCall(this, activity, model, Stopwatch.GetTimestamp());
    }

    /// <summary>Starts the span of one image upload (null when nobody listens).</summary>
    public Activity? StartUpload(int variant)
    {
        var activity = _source.StartActivity("image.upload", ActivityKind.Client);
        activity?.SetTag("job.variant", variant);
        return activity;
    }

    private IEnumerable<Measurement<int>> FreshBudget(Func<LimitUse, int> value) =>
        _budgetByModel.Values.Where(s => Stopwatch.GetElapsedTime(s.Timestamp) < QuotaFreshness)
            .SelectMany(s => s.Model.Limits.Select(l => new Measurement<int>(
                value(l), new KeyValuePair<string, object?>("model", s.Model.Model), new KeyValuePair<string, object?>("limit", l.Limit))));

    private IEnumerable<Measurement<int>> FreshModels(Func<ModelBudget, int> value) =>
        _budgetByModel.Values.Where(s => Stopwatch.GetElapsedTime(s.Timestamp) < QuotaFreshness)
            .Select(s => new Measurement<int>(value(s.Model), new KeyValuePair<string, object?>("model", s.Model.Model)));

    private IEnumerable<Measurement<int>> FreshShares() =>
        _shares is { Timestamp: > 0 } shares && Stopwatch.GetElapsedTime(shares.Timestamp) < QuotaFreshness
            ? shares.Clients.Select(c => new Measurement<int>(c.Requests, new KeyValuePair<string, object?>("client", c.Client)))
            : [];

    /// <inheritdoc />
    public void Dispose() => _source.Dispose();

    private sealed record BudgetSample(ModelBudget Model, long Timestamp);

    /// <summary>One Gemini request in progress.</summary>
    public sealed class GeminiCall : IDisposable
    {
        private readonly WorkerTelemetry _telemetry;
        private readonly Activity? _activity;
        private readonly string _model;
        private readonly long _started;
        private bool _finished;

        internal GeminiCall(WorkerTelemetry telemetry, Activity? activity, string model, long started)
        {
            _telemetry = telemetry;
            _activity = activity;
            _model = model;
            _started = started;
        }

        /// <summary>Records the request's outcome kind (the <c>GeminiOutcome</c> type name) and duration.</summary>
        public void Finish(string outcome)
        {
            _finished = true;
            TagList tags = new() { { "model", _model }, { "outcome", outcome } };
            _telemetry._geminiRequests.Add(1, tags);
            _telemetry._geminiDuration.Record(Stopwatch.GetElapsedTime(_started).TotalSeconds, tags);
            _activity?.SetTag("gemini.outcome", outcome);
            if (outcome != "Image")
            {
                _activity?.SetStatus(ActivityStatusCode.Error, outcome);
            }
        }

        /// <summary>Ends the span; a request that never finished counts as outcome <c>Exception</c>.</summary>
        public void Dispose()
        {
            if (!_finished)
            {
                Finish("Exception");
            }

            _activity?.Dispose();
        }
    }
}
