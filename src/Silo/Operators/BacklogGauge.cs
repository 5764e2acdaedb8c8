using System.Diagnostics.Metrics;
using GenerationWorker.Grains.Telemetry;

namespace GenerationWorker.Silo.Operators;

/// <summary>
/// The backlog gauges of meter <c>GenerationWorker</c>: <c>generation_worker.backlog.jobs</c> (pending jobs) and
/// <c>generation_worker.backlog.requests</c> (the Gemini requests they ask for: the sum of their variants), by tag
/// <c>model</c> (<c>unrouted</c> for jobs no claim has routed to a model yet); and
/// <c>generation_worker.backlog.client_requests</c> by tag <c>client</c>, for the 20 clients with the most waiting.
/// </summary>
/// <remarks>
/// Both come from one query (<see cref="JobsOverviewStore.ReadBacklogAsync"/>) made when a metric reader collects them,
/// shared by the two gauges for one second: one query per silo per export interval, and none without an exporter. A
/// failed or slow read reports nothing for that interval rather than stale figures.
/// </remarks>
public sealed class BacklogGauge
{
    /// <summary>The <c>model</c> tag of jobs that no claim has routed yet.</summary>
    public const string Unrouted = "unrouted";

    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(2);

    private readonly SharedRead<IReadOnlyList<BacklogGroup>> _backlog;

    /// <summary>Creates the gauges on a meter of <paramref name="meters"/>.</summary>
    public BacklogGauge(JobsOverviewStore store, IMeterFactory meters, TimeProvider time)
    {
        _backlog = new SharedRead<IReadOnlyList<BacklogGroup>>(
            async () =>
            {
                using var timeout = new CancellationTokenSource(ReadTimeout);
                return await store.ReadBacklogAsync(timeout.Token);
            },
            TimeSpan.FromSeconds(1), time);
        var meter = meters.Create(WorkerTelemetry.Name);
        meter.CreateObservableGauge("generation_worker.backlog.jobs", () => Observe(b => b.Jobs), "{job}", "Pending jobs, by the model a claim routed them to.");
        meter.CreateObservableGauge("generation_worker.backlog.requests", () => Observe(b => b.Requests), "{request}", "Gemini requests pending jobs ask for (their variants), by model.");
        meter.CreateObservableGauge("generation_worker.backlog.client_requests", () => Observe(b => b.Requests, "client"), "{request}", "Gemini requests pending jobs ask for, by client (the 20 with the most).");
    }

    private IEnumerable<Measurement<long>> Observe(Func<BacklogGroup, long> value, string dimension = "model")
    {
        IReadOnlyList<BacklogGroup> backlog;
        try
        {
            // Collection runs on the metric reader's own thread, which may wait for the query.
            backlog = _backlog.GetAsync().GetAwaiter().GetResult();
        }
        catch (Exception exception) when (exception is Npgsql.NpgsqlException or OperationCanceledException or TimeoutException)
        {
            return [];
        }

        return backlog.Where(b => b.Dimension == dimension).Select(b => new Measurement<long>(
            value(b), new KeyValuePair<string, object?>(dimension, b.Key ?? (dimension == "model" ? Unrouted : ""))));
    }
}
