using GenerationWorker.Grains.Postgres;
using GenerationWorker.Silo.Configuration;
using GenerationWorker.Silo.Health;
using GenerationWorker.Silo.Storage;

namespace GenerationWorker.Silo.Hosting;

/// <summary>Builds the whole service: the schema applied, the silo, the worker and the HTTP endpoints.</summary>
public static class WorkerApp
{
    /// <summary>Applies the schema (waiting for the database), then builds the web host of the silo.</summary>
    /// <param name="settings">Validated settings.</param>
    /// <param name="args">Command-line arguments for the web host.</param>
    /// <param name="configure">Extra wiring (tests add logging providers).</param>
    public static async Task<WebApplication> BuildAsync(
        ServiceSettings settings, string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddGenerationWorkerSilo(settings);
        configure?.Invoke(builder);
        var app = builder.Build();
        await MigrateAsync(app.Services.GetRequiredService<ILoggerFactory>(), settings.ConnectionString);
        app.MapProtectedDashboard(settings.Silo);
        app.MapHealthEndpoints();
        app.MapLocalImageFiles(settings.Storage);
        return app;
    }

    /// <summary>Applies the schema, waiting for a database that is still starting.</summary>
    public static Task MigrateAsync(ILoggerFactory loggers, string connectionString)
    {
        return StartupDatabase.MigrateWithRetryAsync(
            new SchemaMigrator(loggers.CreateLogger<SchemaMigrator>()), connectionString, loggers.CreateLogger("Startup"));
    }
}
