using System.Diagnostics;
using System.Reflection;
using GenerationWorker.TestSupport;

namespace GenerationWorker.Bench.Harness;

/// <summary>The benchmarks' places in this repository (found by the tests' <see cref="RepoPaths"/>) and its scripts.</summary>
internal static class Repo
{
    /// <summary>The repository root (where Orleans.sln is).</summary>
    public static string Root => RepoPaths.Root;

    /// <summary>
    /// The Gemini emulator's executable, built with the benchmarks (the tests' support project references it) in the
    /// same configuration; the silo's is <see cref="SiloProcess.ExecutablePath"/>.
    /// </summary>
    public static string EmulatorDll => Path.Combine(
        Root, "src", "GeminiEmulator", "bin", typeof(Repo).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration,
        "net10.0", "GenerationWorker.GeminiEmulator.dll");

    /// <summary>Where results are written by default.</summary>
    public static string ResultsDir => Path.Combine(Root, "bench-results");

    /// <summary>Runs a repository script (bash) and returns its standard output, trimmed.</summary>
    public static async Task<string> ScriptAsync(string script, IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var result = await RunAsync("bash", [Path.Combine(Root, "scripts", script), .. args], cancellationToken);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"scripts/{script} {string.Join(' ', args)} failed ({result.ExitCode}):\n{result.Output}");
        }

        return result.StandardOutput.Trim();
    }

    /// <summary>Runs a command to its end in the repository root.</summary>
    public static async Task<CommandResult> RunAsync(string fileName, IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + fileName);
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return new CommandResult(process.ExitCode, await stdout, await stderr);
    }
}

/// <summary>How a command ended.</summary>
internal sealed record CommandResult(int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>Both streams, for error messages.</summary>
    public string Output => StandardOutput + StandardError;
}
