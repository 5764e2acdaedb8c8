using GenerationWorker.Grains.Dispatch;
using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Jobs;
using GenerationWorker.Grains.Postgres;
using GenerationWorker.Grains.Quota;
using GenerationWorker.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Runtime;

namespace GenerationWorker.Grains;

/// <summary>Registers what the worker's grains use.</summary>
public static class WorkerServiceCollectionExtensions
{
    /// <summary>
    /// Adds the job table, the worker's options, the Gemini client, the image store, the reference image fetcher and
    /// the silo lifecycle participant that starts and drains the worker.
    /// </summary>
    public static IServiceCollection AddGenerationWorker(
        this IServiceCollection services,
        string connectionString,
        WorkerOptions worker,
        QuotaOptions quota,
        GeminiOptions gemini,
        StorageOptions storage)
    {
        services.AddSingleton(Options.Create(worker));
        services.AddSingleton(Options.Create(quota));
        services.AddSingleton(Options.Create(gemini));
        services.AddSingleton(Options.Create(storage));
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(_ => new NpgsqlDataSourceBuilder(connectionString) { Name = "generation-worker" }.Build());
        services.AddSingleton<JobStore>();
        services.AddSingleton<WorkerHealth>();
        services.AddSingleton<JobNotificationListener>();
        services.AddSingleton<RetryPolicy>();
        services.AddSingleton(new GeminiGate(worker.Concurrency));
        services.AddHttpClient<ReferenceImageFetcher>(client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => ReferenceImageFetcher.CreateHandler(worker.ImageUrlAllowPrivate));
        services.AddGeminiClient(gemini);
        services.AddImageStore(storage);
        services.AddSingleton<WorkerLifecycle>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<WorkerLifecycle>());
        services.AddHostedService(sp => sp.GetRequiredService<WorkerLifecycle>());
        return services;
    }
}
