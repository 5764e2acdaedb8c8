using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using GenerationWorker.Grains.Jobs;
using GenerationWorker.Interfaces;

namespace GenerationWorker.Grains.Telemetry;

/// <summary>
/// The worker's metrics (<see cref="Meter"/> <c>GenerationWorker</c>) and traces (<see cref="ActivitySource"/>
/// <c>GenerationWorker</c>): a job attempt is a span, each Gemini request and each upload a child span of it.
/// </summary>
/// <remarks>
/// Instruments are static so that grains record at their decision points without extra dependencies; nothing is
/// collected unless a listener (the OpenTelemetry SDK when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set) subscribes.
/// Tags never carry prompts, URLs or keys: only job ids, silo ids, models and outcome kinds.
/// </remarks>
public static class WorkerTelemetry
{
    /// <summary>The name of the meter and of the activity source.</summary>
    public const string Name = "GenerationWorker";

    /// <summary>The quota gauges report only values refreshed within this time (the quota grain may have moved).</summary>
    private static readonly TimeSpan QuotaFreshness = TimeSpan.FromSeconds(5);

    private static readonly ConcurrentDictionary<string, int> InFlightBySilo = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, bool> PausedBySilo = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, BudgetSample> BudgetByModel = new(StringComparer.Ordinal);
    private static (IReadOnlyList<ClientShare> Clients, long Timestamp) _shares = ([], 0);

    /// <summary>The traces' source.</summary>
    public static readonly ActivitySource Source = new(Name);

    /// <summary>The metrics' meter.</summary>
    public static readonly Meter Meter = new(Name);

    private static readonly Counter<long> JobsClaimed = Meter.CreateCounter<long>("generation_worker.jobs.claimed", "{job}", "Claims of jobs (each spends an attempt).");
    private static readonly Counter<long> JobsEnded = Meter.CreateCounter<long>("generation_worker.jobs.ended", "{job}", "Attempts ended, by outcome: completed, failed, retried, released, cancelled.");
    private static readonly Counter<long> JobsRescued = Meter.CreateCounter<long>("generation_worker.jobs.rescued", "{job}", "Claims of lost workers put back, by new status.");
    private static readonly Histogram<double> JobDuration = Meter.CreateHistogram<double>("generation_worker.job.duration", "s", "Duration of a job attempt, by outcome.");
    private static readonly Counter<long> GeminiRequests = Meter.CreateCounter<long>("generation_worker.gemini.requests", "{request}", "Gemini requests, by model and outcome kind.");
    private static readonly Counter<long> GeminiCost = Meter.CreateCounter<long>("generation_worker.gemini.cost", "u{USD}", "Gemini spend in micro-dollars, by model, client and billing (billed or possibly_billed).");
    private static readonly Histogram<double> GeminiDuration = Meter.CreateHistogram<double>("generation_worker.gemini.request.duration", "s", "Duration of a Gemini request, by model and outcome kind.");

    static WorkerTelemetry()
    {
        Meter.CreateObservableGauge("generation_worker.jobs.in_flight", () => InFlightBySilo.Select(s => new Measurement<int>(s.Value, new KeyValuePair<string, object?>("silo", s.Key))), "{job}", "Jobs running on each silo.");
        Meter.CreateObservableGauge("generation_worker.quota.paused", () => PausedBySilo.Select(s => new Measurement<int>(s.Value ? 1 : 0, new KeyValuePair<string, object?>("silo", s.Key))), null, "1 while a 429 pauses a Gemini model this silo's jobs wait for, as each silo last saw it.");
        Meter.CreateObservableGauge("generation_worker.quota.used", () => FreshBudget(l => l.Used), "{request}", "Each model's limit in use: slots taken in the window (or granted today for a per-day limit), by model and limit.");
        Meter.CreateObservableGauge("generation_worker.quota.limit", () => FreshBudget(l => l.Allowed), "{request}", "Each model's limit: N for a window, what the day's pacing released so far for a per-day limit.");
        Meter.CreateObservableGauge("generation_worker.quota.client_requests", () => FreshShares(), "{request}", "Requests written in the last window, by client (the 20 with the most): each client's share of the budget.");
        Meter.CreateObservableGauge("generation_worker.quota.model_paused", () => FreshModels(m => m.PausedUntil is null ? 0 : 1), null, "1 while a 429 pauses the model.");
    }

    /// <summary>Starts the span of one job attempt (null when nobody listens).</summary>
    public static Activity? StartJob(string jobId, int attempt)
    {
        var activity = Source.StartActivity("job", ActivityKind.Internal);
        activity?.SetTag("job.id", jobId);
        activity?.SetTag("job.attempt", attempt);
        return activity;
    }

    /// <summary>Records the end of a job attempt.</summary>
    public static void JobEnded(JobOutcome ended, TimeSpan duration)
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
        JobsEnded.Add(1, tag);
        JobDuration.Record(duration.TotalSeconds, tag);
        Activity.Current?.SetTag("job.outcome", outcome);
        if (outcome == "failed")
        {
            Activity.Current?.SetStatus(ActivityStatusCode.Error, outcome);
        }
    }

    /// <summary>Records a settled request's spend, in micro-dollars (nothing for 0).</summary>
    public static void Cost(string model, string clientId, string billing, long micros)
    {
        if (micros > 0)
        {
            GeminiCost.Add(
                micros,
                new KeyValuePair<string, object?>("model", model),
                new KeyValuePair<string, object?>("client", clientId),
                new KeyValuePair<string, object?>("billing", billing));
        }
    }

    /// <summary>Records claimed jobs.</summary>
    public static void Claimed(int count)
    {
        if (count > 0)
        {
            JobsClaimed.Add(count);
        }
    }

    /// <summary>Records a rescued claim and its new status (pending or failed).</summary>
    public static void Rescued(string status) => JobsRescued.Add(1, new KeyValuePair<string, object?>("status", status));

    /// <summary>Sets the number of jobs running on <paramref name="silo"/>.</summary>
    public static void InFlight(string silo, int count) => InFlightBySilo[silo] = count;

    /// <summary>Sets whether <paramref name="silo"/> last saw the budget paused.</summary>
    public static void QuotaPaused(string silo, bool paused) => PausedBySilo[silo] = paused;

    /// <summary>Sets the clients' shares of the last window as the quota grain sees them now.</summary>
    public static void Shares(IReadOnlyList<ClientShare> clients) => _shares = (clients, Stopwatch.GetTimestamp());

    /// <summary>Sets a model's budget as the quota grain sees it now.</summary>
    public static void Budget(ModelBudget model) => BudgetByModel[model.Model] = new BudgetSample(model, Stopwatch.GetTimestamp());

    /// <summary>Starts the span and timer of one Gemini request; finish it with <see cref="GeminiCall.Finish"/>.</summary>
    public static GeminiCall StartGeminiCall(string model, int variant)
    {
        var activity = Source.StartActivity("gemini.generate", ActivityKind.Client);
        activity?.SetTag("gemini.model", model);
        activity?.SetTag("job.variant", variant);
        return new GeminiCall(activity, model, Stopwatch.GetTimestamp());
    }

    /// <summary>Starts the span of one image upload (null when nobody listens).</summary>
    public static Activity? StartUpload(int variant)
    {
        var activity = Source.StartActivity("image.upload", ActivityKind.Client);
        activity?.SetTag("job.variant", variant);
        return activity;
    }

    private static IEnumerable<Measurement<int>> FreshBudget(Func<LimitUse, int> value) =>
        BudgetByModel.Values.Where(s => Stopwatch.GetElapsedTime(s.Timestamp) < QuotaFreshness)
            .SelectMany(s => s.Model.Limits.Select(l => new Measurement<int>(
                value(l), new KeyValuePair<string, object?>("model", s.Model.Model), new KeyValuePair<string, object?>("limit", l.Limit))));

    private static IEnumerable<Measurement<int>> FreshModels(Func<ModelBudget, int> value) =>
        BudgetByModel.Values.Where(s => Stopwatch.GetElapsedTime(s.Timestamp) < QuotaFreshness)
            .Select(s => new Measurement<int>(value(s.Model), new KeyValuePair<string, object?>("model", s.Model.Model)));

    private static IEnumerable<Measurement<int>> FreshShares() =>
        _shares is { Timestamp: > 0 } shares && Stopwatch.GetElapsedTime(shares.Timestamp) < QuotaFreshness
            ? shares.Clients.Select(c => new Measurement<int>(c.Requests, new KeyValuePair<string, object?>("client", c.Client)))
            : [];

    private sealed record BudgetSample(ModelBudget Model, long Timestamp);

    /// <summary>One Gemini request in progress.</summary>
    public sealed class GeminiCall : IDisposable
    {
        private readonly Activity? _activity;
        private readonly string _model;
        private readonly long _started;
        private bool _finished;

        internal GeminiCall(Activity? activity, string model, long started)
        {
            _activity = activity;
            _model = model;
            _started = started;
        }

        /// <summary>Records the request's outcome kind (the <c>GeminiOutcome</c> type name) and duration.</summary>
        public void Finish(string outcome)
        {
            _finished = true;
            TagList tags = new() { { "model", _model }, { "outcome", outcome } };
            GeminiRequests.Add(1, tags);
            GeminiDuration.Record(Stopwatch.GetElapsedTime(_started).TotalSeconds, tags);
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
