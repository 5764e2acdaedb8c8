using GenerationWorker.Chaos;

// Runs the worker as three silo processes against a private PostgreSQL and the Gemini emulator while killing silos,
// cutting database connections and restarting PostgreSQL; then checks that no job was lost, duplicated or stranded.
// Exit code 1 when a check fails, 2 on bad arguments.
if (!ChaosOptions.TryParse(args, out var options, out var error))
{
    await Console.Error.WriteLineAsync(error + "\nusage: GenerationWorker.Chaos [--short] [--pooler] [--jobs N] [--seed N]");
    return 2;
}

return await ChaosRun.ExecuteAsync(options, Console.Out);
