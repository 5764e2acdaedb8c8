using System.Diagnostics;

namespace GenerationWorker.Bench.Harness;

/// <summary>Paths of this repository, its built executables and its scripts.</summary>
internal static class Repo
{
    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    /// <summary>The repository root (where Orleans.sln is).</summary>
    public static string Root => LazyRoot.Value;

    /// <summary>The built silo executable.</summary>
    public static string SiloDll => Path.Combine(Root, "src", "Silo", "bin", "Release", "net10.0", "GenerationWorker.Silo.dll");

    /// <summary>The built Gemini emulator executable.</summary>
    public static string EmulatorDll =>
        Path.Combine(Root, "src", "GeminiEmulator", "bin", "Release", "net10.0", "GenerationWorker.GeminiEmulator.dll");

    /// <summary>Where results are written by default.</summary>
    public static string ResultsDir => Path.Combine(Root, "bench-results");

    /// <summary>Builds the silo and the emulator in Release when their executables are missing.</summary>
    public static async Task EnsureBuiltAsync(CancellationToken cancellationToken)
    {
        foreach (var (dll, project) in new[]
                 {
                     (SiloDll, "src/Silo/GenerationWorker.Silo.csproj"),
                     (EmulatorDll, "src/GeminiEmulator/GenerationWorker.GeminiEmulator.csproj"),
                 })
        {
            if (File.Exists(dll))
            {
                continue;
            }

            Console.WriteLine($"building {project} (Release)...");
            var result = await RunAsync("dotnet", ["build", "-c", "Release", "-nologo", "-v", "q", project], cancellationToken);
            if (result.ExitCode != 0 || !File.Exists(dll))
            {
                throw new InvalidOperationException($"dotnet build {project} failed:\n{result.Output}");
            }
        }
    }

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

    private static string FindRoot()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Orleans.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException("Orleans.sln not found above " + Environment.CurrentDirectory);
    }
}

/// <summary>How a command ended.</summary>
internal sealed record CommandResult(int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>Both streams, for error messages.</summary>
    public string Output => StandardOutput + StandardError;
}
