using System.Diagnostics.Metrics;
using GenerationWorker.Grains.Configuration;
using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Quota;
using GenerationWorker.Grains.Storage;
using GenerationWorker.Grains.Telemetry;
using Microsoft.Extensions.DependencyInjection;

namespace GenerationWorker.Grains.Tests.Telemetry;

/// <summary>The instruments are one injected instance per silo, with no state shared between silos.</summary>
public sealed class WorkerTelemetryTests
{
    [Fact]
    public void TheWorker_RegistersOneTelemetrySingleton()
    {
        var services = new ServiceCollection().AddGenerationWorker(
            "Host=db;Database=app", null, new WorkerOptions(), new QuotaOptions(), new GeminiOptions(), new StorageOptions { AccountId = "acc" });

        var registration = Assert.Single(services, d => d.ServiceType == typeof(WorkerTelemetry));
        Assert.Equal(ServiceLifetime.Singleton, registration.Lifetime);
    }

    [Fact]
    public void TwoSilosInOneProcess_EachReportOnlyTheirOwnJobsInFlight()
    {
        using var first = new ServiceCollection().AddMetrics().AddSingleton<WorkerTelemetry>().BuildServiceProvider();
        using var second = new ServiceCollection().AddMetrics().AddSingleton<WorkerTelemetry>().BuildServiceProvider();
        first.GetRequiredService<WorkerTelemetry>().InFlight("silo-a", 3);
        second.GetRequiredService<WorkerTelemetry>().InFlight("silo-b", 5);

        Assert.Equal([("silo-a", 3)], InFlight(first.GetRequiredService<IMeterFactory>()));
        Assert.Equal([("silo-b", 5)], InFlight(second.GetRequiredService<IMeterFactory>()));
    }

    /// <summary>What the in-flight gauge of the meter made by <paramref name="meters"/> reports now.</summary>
    private static List<(string Silo, int Jobs)> InFlight(IMeterFactory meters)
    {
        var seen = new List<(string, int)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Scope == meters && instrument.Name == "generation_worker.jobs.in_flight")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<int>((_, value, tags, _) => seen.Add(((string)tags[0].Value!, value)));
        listener.Start();
        listener.RecordObservableInstruments();
        return seen;
    }
}
