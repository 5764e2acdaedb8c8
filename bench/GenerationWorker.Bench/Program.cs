using System.Runtime.InteropServices;
using GenerationWorker.Bench;
using GenerationWorker.Bench.Harness;
using GenerationWorker.TestSupport;

// Whole-system benchmarks of the generation worker: real silo processes, the Gemini emulator as a process, a fresh
// database on the project's Postgres. Usage: see BenchOptions.Usage.
if (args is ["encode-probe", .. var probeArgs])
{
    // The child process of the encode figure.
    return await GenerationWorker.Bench.Encode.EncodeProbe.RunAsync(probeArgs);
}

BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (ArgumentException exception)
{
    Console.Error.WriteLine(exception.Message);
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

using var interrupted = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    interrupted.Cancel();
};
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    interrupted.Cancel();
});
AppDomain.CurrentDomain.ProcessExit += (_, _) => ChildProcess.KillAll();

try
{
    await PostgresServer.EnsureRunningAsync();
    var machine = await Machine.DescribeAsync(interrupted.Token);
    Console.WriteLine($"machine: {machine.Cpus} cpus, {machine.MemoryMb} MB, PostgreSQL {machine.PostgresVersion}, load {machine.LoadAverage}, speed probe {machine.SpeedProbeMs} ms (SHA-256 of 64 MiB on one core; lower is faster)");
    var failed = 0;
    foreach (var figure in options.Figures)
    {
        FigureResult result;
        var started = DateTimeOffset.UtcNow;
        try
        {
            result = await Figures.RunAsync(figure, options, interrupted.Token);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !interrupted.IsCancellationRequested)
        {
            failed++;
            Console.Error.WriteLine($"figure {figure} failed: {exception}");
            continue;
        }

        result.Data["figure"] = figure;
        result.Data["short"] = options.Short;
        result.Set("machine", machine);
        result.Data["seconds"] = Math.Round((DateTimeOffset.UtcNow - started).TotalSeconds, 1);
        result.Data["measuredAt"] = started.ToString("O");
        result.Print();
        Console.WriteLine($"  ({(DateTimeOffset.UtcNow - started).TotalSeconds:0} s)");
        Results.Write(options.JsonPathFor(figure), result.Data);
    }

    return failed == 0 ? 0 : 1;
}
catch (OperationCanceledException) when (interrupted.IsCancellationRequested)
{
    Console.Error.WriteLine("interrupted: processes ended, databases dropped");
    return 130;
}
finally
{
    ChildProcess.KillAll();
}
