using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using GenerationWorker.Grains.Postgres;
using GenerationWorker.Grains.Telemetry;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace GenerationWorker.Silo.Tests.Hosting;

/// <summary>The worker's spans and metrics while a real silo runs a job (Gemini: the project's emulator).</summary>
public sealed class WorkerTelemetryTests(GeminiEmulatorFixture gemini) : IClassFixture<GeminiEmulatorFixture>, IAsyncLifetime
{
    private readonly string _storage = Path.Combine(Path.GetTempPath(), "telemetry-" + Guid.NewGuid().ToString("N"));
    private readonly ConcurrentQueue<Activity> _activities = new();
    private readonly ConcurrentQueue<(string Instrument, long Value, Dictionary<string, object?> Tags)> _measurements = new();
    private ActivityListener? _activityListener;
    private MeterListener? _meterListener;
    private string _cs = "";
    private WorkerSilo? _silo;

    public async Task InitializeAsync()
    {
        _activityListener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == WorkerTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _activities.Enqueue,
        };
        ActivitySource.AddActivityListener(_activityListener);
        _meterListener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == WorkerTelemetry.Name)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _meterListener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            _measurements.Enqueue((instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value))));
        _meterListener.Start();

        _cs = await PostgresServer.CreateDatabaseAsync("otel");
        await new SchemaMigrator(NullLogger<SchemaMigrator>.Instance).MigrateAsync(_cs, CancellationToken.None);
        _silo = await WorkerSilo.StartAsync(WorkerSilo.BaseEnvironment(_cs, gemini.BaseUrl, gemini.ApiKey, _storage));
    }

    public async Task DisposeAsync()
    {
        if (_silo is not null)
        {
            await _silo.DisposeAsync();
        }

        _activityListener?.Dispose();
        _meterListener?.Dispose();
        await PostgresServer.DropDatabaseAsync(_cs);
        if (Directory.Exists(_storage))
        {
            Directory.Delete(_storage, recursive: true);
        }
    }

    [Fact]
    public async Task ACompletedJob_IsOneSpanWithAGeminiCallAndAnUploadPerVariant_AndIsCounted()
    {
        var jobs = new JobTable(_cs);
        var id = await jobs.InsertAsync("image_generation", new { prompt = "two lamps", settings = new { numberOfVariants = 2 } });
        Assert.Equal("completed", (await jobs.WaitFinalAsync(id)).Status);

        var job = await Eventually.ValueAsync(
            () => Task.FromResult(_activities.FirstOrDefault(a => a.OperationName == "job" && (string?)a.GetTagItem("job.id") == id)),
            TimeSpan.FromSeconds(30),
            "the job's activity",
            TimeSpan.FromMilliseconds(20));
        Assert.Equal("completed", job.GetTagItem("job.outcome"));
        var children = _activities.Where(a => a.ParentSpanId == job.SpanId && a.TraceId == job.TraceId).ToList();
        var calls = children.Where(a => a.OperationName == "gemini.generate").ToList();
        Assert.Equal(2, calls.Count);
        Assert.All(calls, call => Assert.Equal("Image", call.GetTagItem("gemini.outcome")));
        Assert.Equal(2, children.Count(a => a.OperationName == "image.upload"));
        Assert.DoesNotContain(_activities.SelectMany(a => a.TagObjects), tag => tag.Value is string text && text.Contains("two lamps", StringComparison.Ordinal));

        Assert.Contains(_measurements, m => m.Instrument == "generation_worker.jobs.claimed" && m.Value >= 1);
        Assert.Contains(_measurements, m => m.Instrument == "generation_worker.jobs.ended" && Equals(m.Tags["outcome"], "completed"));
        Assert.True(_measurements.Count(m => m.Instrument == "generation_worker.gemini.requests" && Equals(m.Tags["outcome"], "Image")) >= 2);
    }
}
