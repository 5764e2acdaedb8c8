using System.Collections.Concurrent;
using System.Diagnostics;
using GenerationWorker.TestSupport;

namespace GenerationWorker.Grains.Tests.Reliability;

/// <summary>
/// The service's real executable run as a child process (built beside the tests), on free ports, that a test can kill
/// (SIGKILL) or terminate (SIGTERM) like an orchestrator.
/// </summary>
internal sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private WorkerProcess(Process process, Uri httpBase)
    {
        _process = process;
        HttpBase = httpBase;
    }

    /// <summary>Where /health and /status are served.</summary>
    public Uri HttpBase { get; }

    /// <summary>The process id.</summary>
    public int Id => _process.Id;

    /// <summary>True once the process ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>What the process wrote (stdout and stderr), for diagnostics.</summary>
    public string Output => string.Join('\n', _output);

    /// <summary>The executable, built in the same configuration as the tests.</summary>
    public static string Executable
    {
        get
        {
#if DEBUG
            const string configuration = "Debug";
#else
            const string configuration = "Release";
#endif
            var path = Path.Combine(RepoPaths.Root, "src", "Silo", "bin", configuration, "net10.0", "GenerationWorker.Silo.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException("build src/Silo first", path);
        }
    }

    /// <summary>Starts the executable with <paramref name="environment"/> (ports are added) and waits for /health 200.</summary>
    public static async Task<WorkerProcess> StartAsync(IReadOnlyDictionary<string, string?> environment, TimeSpan? timeout = null)
    {
        var httpPort = WorkerSilo.FreePort();
        var info = new ProcessStartInfo("dotnet", [Executable])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        info.Environment["PORT"] = httpPort.ToString();
        info.Environment["SILO_PORT"] = WorkerSilo.FreePort().ToString();
        info.Environment["GATEWAY_PORT"] = WorkerSilo.FreePort().ToString();
        info.Environment["LOG_FORMAT"] = "text";
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + Executable);
        var worker = new WorkerProcess(process, new Uri($"http://127.0.0.1:{httpPort}/"));
        process.OutputDataReceived += (_, e) => worker.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => worker.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTimeOffset.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while ((await SiloStatus.HealthAsync(worker.HttpBase)).Code != 200)
        {
            if (process.HasExited || DateTimeOffset.UtcNow > deadline)
            {
                await worker.DisposeAsync();
                throw new InvalidOperationException("the silo process did not become healthy:\n" + worker.Output);
            }

            await Task.Delay(100);
        }

        return worker;
    }

    /// <summary>kill -9: the process dies at once, leaving its claims behind.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    /// <summary>SIGTERM, as an orchestrator stops a container.</summary>
    public void Terminate()
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", Id.ToString()]) { UseShellExecute = false })!;
        kill.WaitForExit();
    }

    /// <summary>Waits for the process to end and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
        return _process.ExitCode;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
            while (_output.Count > 2000 && _output.TryDequeue(out _))
            {
            }
        }
    }
}
