using GenerationWorker.Grains.Assets;
using GenerationWorker.Grains.Configuration;
using GenerationWorker.Grains.Cost;
using GenerationWorker.Grains.Dispatch;
using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Images;
using GenerationWorker.Grains.Imaging;
using GenerationWorker.Grains.Jobs;
using GenerationWorker.Grains.Postgres;
using GenerationWorker.Grains.Quota;
using GenerationWorker.Grains.Rescue;
using GenerationWorker.Grains.Storage;
using GenerationWorker.Grains.Telemetry;
using GenerationWorker.Grains.Videos;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Hosting;
using Orleans.Runtime;

namespace GenerationWorker.Grains;

/// <summary>Registers what the worker's grains use.</summary>
public static class WorkerServiceCollectionExtensions
{
    /// <summary>
    /// Adds the job table, the worker's options, the Gemini client, the image store, the reference image fetcher and
    /// the silo lifecycle participant that starts and drains the worker.
    /// </summary>
    /// <param name="services">The silo's services.</param>
    /// <param name="connectionString">The service's pool (jobs, the health check, the listener's delivery probe).</param>
    /// <param name="listenConnectionString">
    /// Where the notification listener connects (a direct connection: a transaction-mode pooler does not deliver); null
    /// when <see cref="WorkerOptions.ListenEnabled"/> is false.
    /// </param>
    /// <param name="worker">The worker's options.</param>
    /// <param name="quota">The budget's options.</param>
    /// <param name="gemini">Gemini's options.</param>
    /// <param name="storage">The image store's options.</param>
    public static IServiceCollection AddGenerationWorker(
        this IServiceCollection services,
        string connectionString,
        string? listenConnectionString,
        WorkerOptions worker,
        QuotaOptions quota,
        GeminiOptions gemini,
        StorageOptions storage)
    {
        services.AddOptionsOnce(worker).AddOptionsOnce(quota).AddOptionsOnce(gemini).AddOptionsOnce(storage);
        services.AddSingleton(TimeProvider.System);
        // The service's statements set no session state, so pooled connections need no DISCARD ALL on return. Its few
        // statements run thousands of times: prepared, Postgres plans each once per connection.
        var pooled = new NpgsqlConnectionStringBuilder(connectionString) { NoResetOnClose = true };
        if (worker.PrepareStatements)
        {
            pooled.MaxAutoPrepare = 32;
            pooled.AutoPrepareMinUsages = 2;
        }

        services.AddSingleton(_ => new NpgsqlDataSourceBuilder(pooled.ConnectionString) { Name = "generation-worker" }.Build());
        // The listener holds its own connection, outside the pool: a LISTEN must not outlive it on a pooled connection.
        var listening = JobNotificationListener.ListenConnectionString(listenConnectionString ?? connectionString);
        services.AddSingleton(sp => new JobNotificationListener(
            new NpgsqlDataSourceBuilder(listening) { Name = "generation-worker-listen" }.Build(),
            sp.GetRequiredService<NpgsqlDataSource>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<JobNotificationListener>>()));
        services.AddSingleton<GrainReferences>();
        services.AddSingleton(new BudgetClock(worker.ClockOffset));
        services.AddSingleton<SiloBudget>();
        services.AddHostedService(sp => sp.GetRequiredService<SiloBudget>());
        services.AddSingleton<JobStore>();
        services.AddHostedService<JobTableStatistics>();
        services.AddSingleton<AppAssetStore>();
        services.AddSingleton<AppTables>();
        services.AddHostedService(sp => sp.GetRequiredService<AppTables>());
        services.AddSingleton(sp => new JobCompletions(
            sp.GetRequiredService<JobStore>(), sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<JobCompletions>>(),
            sp.GetRequiredService<AppAssetStore>()));
        services.AddSingleton<WorkerHealth>();
        services.AddMetrics();
        services.AddSingleton<WorkerTelemetry>();
        services.AddSingleton(ConfigurationFingerprint.Of(gemini, storage));
        services.AddSingleton<JobSummaryLog>();
        services.AddSingleton<RetryPolicy>();
        services.AddSingleton(new GeminiGate(worker.Concurrency, worker.ImageMemoryBudgetBytes));
        services.AddHttpClient<ReferenceImageFetcher>(client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => ReferenceImageFetcher.CreateHandler(worker.ImageUrlAllowPrivate));
        services.AddGeminiClient(gemini);
        services.AddSingleton<CostStore>();
        services.AddSingleton<CostLedger>();
        services.AddSingleton<ImageCalls>();
        services.AddSingleton<ImageOutputs>();
        services.AddSingleton<IJobHandler, ImageGenerationHandler>();
        services.AddSingleton<IJobHandler, ImageEditHandler>();
        services.AddVeoClient(gemini);
        services.AddSingleton<VideoOperationStore>();
        services.AddSingleton<IJobHandler, VideoGenerationHandler>();
        services.AddSingleton<JobHandlers>();
        services.AddImageStore(storage);
        services.AddImageEncoder(new ImageEncoderOptions { SpoolDirectory = gemini.ImageSpoolDirectory });
        services.AddPlacementDirector<SiloLocalPlacement, SiloLocalPlacementDirector>();
        services.AddPlacementDirector<DispatcherPlacement, DispatcherPlacementDirector>();
        services.AddPlacementDirector<ServiceStopPlacement, ServiceStopPlacementDirector>();
        services.AddSingleton<Rescuer>();
        services.AddSingleton<WorkerLifecycle>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<WorkerLifecycle>());
        services.AddHostedService(sp => sp.GetRequiredService<WorkerLifecycle>());
        services.AddHostedService<PendingJobExpiry>();
        services.AddSingleton<AuditRetention>();
        services.AddHostedService(sp => sp.GetRequiredService<AuditRetention>());
        return services;
    }

    /// <summary>
    /// Registers <paramref name="options"/>, read and validated from the environment by the host, as itself and as
    /// <see cref="IOptions{TOptions}"/>: the one instance every service of the worker (and the Gemini client and image
    /// store, which register it only when absent) is given.
    /// </summary>
    private static IServiceCollection AddOptionsOnce<T>(this IServiceCollection services, T options)
        where T : class
    {
        services.TryAddSingleton(options);
        services.TryAddSingleton(Options.Create(options));
        return services;
    }
}
