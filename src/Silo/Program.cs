using GenerationWorker.Grains.Postgres;
using GenerationWorker.Silo.Configuration;
using GenerationWorker.Silo.Health;
using GenerationWorker.Silo.Hosting;
using GenerationWorker.Silo.Storage;

// The silo: `GenerationWorker.Silo` runs the worker; `GenerationWorker.Silo migrate` applies the schema and exits.
ServiceSettings settings;
try
{
    settings = args is ["migrate", ..]
        ? ServiceSettings.LoadDatabaseOnly(Environment.GetEnvironmentVariable)
        : ServiceSettings.Load(Environment.GetEnvironmentVariable);
}
catch (ConfigurationException exception)
{
    await Console.Error.WriteLineAsync(exception.Message);
    return 2;
}

using (var loggerFactory = LoggerFactory.Create(logging => logging.AddSimpleConsole(o => o.SingleLine = true)))
{
    var migrator = new SchemaMigrator(loggerFactory.CreateLogger<SchemaMigrator>());
    await StartupDatabase.MigrateWithRetryAsync(migrator, settings.ConnectionString, loggerFactory.CreateLogger("Startup"));
}

if (args is ["migrate", ..])
{
    return 0;
}

var builder = WebApplication.CreateBuilder(args);
builder.AddGenerationWorkerSilo(settings);
var app = builder.Build();
app.MapProtectedDashboard(settings.Silo);
app.MapHealthEndpoints();
app.MapLocalImageFiles(settings.Storage);
await app.RunAsync();
return 0;
