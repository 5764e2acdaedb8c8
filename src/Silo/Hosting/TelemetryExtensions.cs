using GenerationWorker.Grains.Telemetry;
using GenerationWorker.Silo.Operators;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace GenerationWorker.Silo.Hosting;

/// <summary>Exports the worker's and Orleans' metrics and the worker's traces over OTLP.</summary>
public static class TelemetryExtensions
{
    /// <summary>
    /// Adds the OpenTelemetry SDK exporting to <paramref name="otlpEndpoint"/> (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>);
    /// does nothing when it is null, so a silo without a collector pays for no telemetry pipeline (nor backlog queries).
    /// </summary>
    public static IServiceCollection AddWorkerTelemetry(this IServiceCollection services, Uri? otlpEndpoint)
    {
        if (otlpEndpoint is null)
        {
            return services;
        }

        services.AddSingleton<BacklogGauge>();
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(SiloHostingExtensions.ServiceId))
            .WithMetrics(metrics => metrics.AddMeter(WorkerTelemetry.Name, "Microsoft.Orleans").AddInstrumentation<BacklogGauge>())
            .WithTracing(tracing => tracing.AddSource(WorkerTelemetry.Name))
            .UseOtlpExporter();
        return services;
    }
}
