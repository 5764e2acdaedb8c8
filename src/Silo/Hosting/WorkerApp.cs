using GenerationWorker.Grains;
using GenerationWorker.Grains.Postgres;
using GenerationWorker.Silo.Configuration;
using GenerationWorker.Silo.Health;
using GenerationWorker.Silo.Storage;

namespace GenerationWorker.Silo.Hosting;

/// <summary>Builds the whole service: the schema applied, the silo, the worker and the HTTP endpoints.</summary>
public static class WorkerApp
{
    /// <summary>
    /// Probes the image store (a definite refusal stops the start-up), decides which connection does what (probing
    /// <c>DATABASE_URL</c>), applies the schema (waiting for the database), then builds the web host of the silo.
    /// </summary>
    /// <exception cref="ConfigurationException">The image store refused the test write.</exception>
    /// <param name="settings">Validated settings.</param>
    /// <param name="args">Command-line arguments for the web host.</param>
    /// <param name="configure">Extra wiring (tests add logging providers).</param>
    public static async Task<WebApplication> BuildAsync(
        ServiceSettings settings, string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        DatabaseRoles roles;
        string? storeUnreachable;
        // The host's loggers exist only once the roles have shaped it: the probe's waiting lines go to the console.
        using (var early = LoggerFactory.Create(logging => logging.AddWorkerConsole(settings.LogFormat)))
        {
            storeUnreachable = await StartupStorage.CheckAsync(settings.Storage, early.CreateLogger("Startup"));
            roles = await StartupDatabase.ResolveRolesAsync(settings.Database, early.CreateLogger("Startup"));
        }

        roles.ApplyTo(settings.Worker);
        var builder = WebApplication.CreateBuilder(args);
        builder.AddGenerationWorkerSilo(settings, roles);
        configure?.Invoke(builder);
        var app = builder.Build();
        app.Services.GetRequiredService<WorkerHealth>().SetStoreUnreachable(storeUnreachable);
        var loggers = app.Services.GetRequiredService<ILoggerFactory>();
        StartupDatabase.LogRoles(roles, loggers.CreateLogger("Startup"));
        RailwayDraining.WarnIfShort(Environment.GetEnvironmentVariable, settings.Worker.ShutdownTimeout, loggers.CreateLogger("Startup"));
        await MigrateAsync(loggers, roles);
        app.MapProtectedDashboard(settings.Silo);
        app.MapHealthEndpoints(settings.Silo.DashboardEnabled ? (settings.Silo.DashboardUsername!, settings.Silo.DashboardPassword!) : null);
        app.MapLocalImageFiles(settings.Storage);
        return app;
    }

    /// <summary>Applies the schema where <paramref name="roles"/> say, waiting for a database that is still starting.</summary>
    public static Task MigrateAsync(ILoggerFactory loggers, DatabaseRoles roles)
    {
        return StartupDatabase.MigrateWithRetryAsync(
            new SchemaMigrator(loggers.CreateLogger<SchemaMigrator>()), roles.Migrations, roles.MigrationLocking,
            loggers.CreateLogger("Startup"));
    }
}
