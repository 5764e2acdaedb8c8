using System.Collections.Concurrent;
using System.Diagnostics;

namespace GenerationWorker.Chaos;

/// <summary>One silo of the service: its real executable as a child process on free ports.</summary>
internal sealed class SiloProcess : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private SiloProcess(Process process, Uri httpBase)
    {
        _process = process;
        HttpBase = httpBase;
    }

    public Uri HttpBase { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>The last lines the process wrote.</summary>
    public string Tail => string.Join('\n', _output.TakeLast(40));

    public static string Executable
    {
        get
        {
#if DEBUG
            const string configuration = "Debug";
#else
            const string configuration = "Release";
#endif
            var path = Path.Combine(Ports.RepoRoot(), "src", "Silo", "bin", configuration, "net10.0", "GenerationWorker.Silo.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException("build src/Silo first", path);
        }
    }

    /// <summary>Starts a silo and waits until /health answers 200.</summary>
    public static async Task<SiloProcess> StartAsync(IReadOnlyDictionary<string, string> environment, TimeSpan timeout)
    {
        var httpPort = Ports.Free();
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
        info.Environment["SILO_PORT"] = Ports.Free().ToString();
        info.Environment["GATEWAY_PORT"] = Ports.Free().ToString();
        info.Environment["LOG_FORMAT"] = "text";
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + Executable);
        var silo = new SiloProcess(process, new Uri($"http://127.0.0.1:{httpPort}/"));
        process.OutputDataReceived += (_, e) => silo.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => silo.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (!await silo.IsHealthyAsync())
        {
            if (process.HasExited || DateTimeOffset.UtcNow > deadline)
            {
                var tail = silo.Tail;
                await silo.DisposeAsync();
                throw new InvalidOperationException("a silo did not become healthy:\n" + tail);
            }

            await Task.Delay(200);
        }

        return silo;
    }

    public async Task<bool> IsHealthyAsync()
    {
        try
        {
            using var response = await Http.GetAsync(new Uri(HttpBase, "health"));
            return response.IsSuccessStatusCode;
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    /// <summary>kill -9.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, then waits for the exit; returns the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", _process.Id.ToString()]) { UseShellExecute = false })!)
        {
            await kill.WaitForExitAsync();
        }

        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
        return _process.ExitCode;
    }

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
            while (_output.Count > 400 && _output.TryDequeue(out _))
            {
            }
        }
    }
}
