using GenerationWorker.Silo.Cli;
using GenerationWorker.Silo.Configuration;
using GenerationWorker.Silo.Hosting;

// `GenerationWorker.Silo` runs a silo of the worker; `GenerationWorker.Silo <command>` runs an operator command
// (`migrate` is Railway's pre-deploy step; `help` lists them). Bad configuration exits with code 2 and names each
// variable to fix.
if (args is [var command, ..] && OperatorCli.Handles(command))
{
    using var interrupt = OperatorCli.CancelOnCtrlC();
    return await OperatorCli.RunAsync(args, Environment.GetEnvironmentVariable, Console.Out, Console.Error, interrupt.Token);
}

WebApplication app;
try
{
    app = await WorkerApp.BuildAsync(ServiceSettings.Load(Environment.GetEnvironmentVariable), args);
}
catch (ConfigurationException exception)
{
    await Console.Error.WriteLineAsync(exception.Message);
    return 2;
}

await app.RunAsync();
return 0;
