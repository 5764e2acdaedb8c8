using GenerationWorker.Silo.Configuration;
using GenerationWorker.Silo.Hosting;

// `GenerationWorker.Silo` runs a silo of the worker; `GenerationWorker.Silo migrate` applies the schema and exits
// (Railway's pre-deploy step). Bad configuration exits with code 2 and names each variable to fix.
var migrateOnly = args is ["migrate", ..];
ServiceSettings settings;
try
{
    settings = migrateOnly
        ? ServiceSettings.LoadDatabaseOnly(Environment.GetEnvironmentVariable)
        : ServiceSettings.Load(Environment.GetEnvironmentVariable);
}
catch (ConfigurationException exception)
{
    await Console.Error.WriteLineAsync(exception.Message);
    return 2;
}

if (migrateOnly)
{
    using var loggers = LoggerFactory.Create(logging => logging.AddSimpleConsole(o => o.SingleLine = true));
    await WorkerApp.MigrateAsync(loggers, settings.ConnectionString);
    return 0;
}

var app = await WorkerApp.BuildAsync(settings, args);
await app.RunAsync();
return 0;
