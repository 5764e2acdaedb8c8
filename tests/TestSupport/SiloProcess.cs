using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace GenerationWorker.TestSupport;

/// <summary>What a short run of the executable (<c>migrate</c>, a bad configuration) ended with.</summary>
/// <param name="ExitCode">The process's exit code.</param>
/// <param name="StandardOutput">Everything it wrote to stdout.</param>
/// <param name="StandardError">Everything it wrote to stderr.</param>
/// <param name="Elapsed">From start to exit.</param>
public sealed record ProcessRun(int ExitCode, string StandardOutput, string StandardError, TimeSpan Elapsed)
{
    /// <summary>Both streams, for failure messages.</summary>
    public override string ToString() =>
        $"exit code {ExitCode} after {Elapsed.TotalSeconds:0.0} s\n--- stdout ---\n{StandardOutput}\n--- stderr ---\n{StandardError}";
}

/// <summary>
/// The real built executable (<c>dotnet src/Silo/bin/&lt;Configuration&gt;/net10.0/GenerationWorker.Silo.dll</c>) run as a
/// child process with only the environment a test gives it, on free loopback ports.
/// </summary>
/// <remarks>
/// The inherited environment is dropped (a developer's DATABASE_URL must never reach a test silo); only PATH, HOME,
/// TMPDIR, SSL_CERT_FILE and the DOTNET_* variables pass through. Output is kept (the last lines of both streams) for
/// failure messages. Dispose always kills the process.
/// </remarks>
public sealed class SiloProcess : IAsyncDisposable
{
    private const int KeptLines = 600;
    private static readonly string[] PassedThrough = ["PATH", "HOME", "TMPDIR", "SSL_CERT_FILE"];
    private static readonly Lazy<string> LazyExecutable = new(FindExecutable);

    private readonly Process _process;
    private readonly Queue<string> _output = new();
    private readonly HttpClient _http;
    private readonly HttpClient _operator;
    private StreamWriter? _log;

    private SiloProcess(Process process, int httpPort, int siloPort, IReadOnlyDictionary<string, string?> environment)
    {
        _process = process;
        HttpPort = httpPort;
        SiloPort = siloPort;
        Environment = environment;
        HttpBase = new Uri($"http://127.0.0.1:{httpPort}/");
        _http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false })
        {
            BaseAddress = HttpBase,
            Timeout = TimeSpan.FromSeconds(10),
        };
        _operator = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false })
        {
            BaseAddress = HttpBase,
            Timeout = TimeSpan.FromSeconds(10),
        };
        if (environment.GetValueOrDefault("DASHBOARD_USERNAME") is { } user && environment.GetValueOrDefault("DASHBOARD_PASSWORD") is { } password)
        {
            _operator.DefaultRequestHeaders.Authorization = WorkerSilo.OperatorAuthorization(user, password);
        }
    }

    /// <summary>
    /// The executable's path: the build of <c>src/Silo</c> in the configuration this test assembly was built with.
    /// Throws, saying how to build it, when it is missing.
    /// </summary>
    public static string ExecutablePath => LazyExecutable.Value;

    /// <summary>The process id.</summary>
    public int Id => _process.Id;

    /// <summary>The HTTP port (/health, /status, /cluster, /dashboard).</summary>
    public int HttpPort { get; }

    /// <summary>The silo-to-silo port; with 127.0.0.1 it is the silo's address in the membership table.</summary>
    public int SiloPort { get; }

    /// <summary>Where its HTTP endpoints answer: <c>http://127.0.0.1:{port}/</c>.</summary>
    public Uri HttpBase { get; }

    /// <summary>The variables it was started with (the passed-through ones excluded).</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; }

    /// <summary>An HTTP client on <see cref="HttpBase"/> (10 s timeout) that shows redirects instead of following them.</summary>
    public HttpClient Http => _http;

    /// <summary>A client of the silo's HTTP port sending its dashboard credentials (for /status and /cluster).</summary>
    public HttpClient Operator => _operator;

    /// <summary>True once the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The exit code, once exited.</summary>
    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>The last lines the process wrote (stdout and stderr interleaved), for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    /// <summary>
    /// Starts a silo with <paramref name="environment"/>; <c>PORT</c>, <c>SILO_PORT</c> and <c>GATEWAY_PORT</c> are set to
    /// free ports unless given. Returns at once: wait with <see cref="WaitHealthyAsync"/>.
    /// </summary>
    public static SiloProcess Start(IReadOnlyDictionary<string, string?> environment, params string[] args) =>
        Launch(environment, args, logPath: null, Path.GetTempPath());

    /// <summary>
    /// Starts a silo as <see cref="Start"/> does, appending every line it writes to <paramref name="logPath"/>, with
    /// <paramref name="workingDirectory"/> (created when missing) as its working directory and content root.
    /// </summary>
    /// <remarks>
    /// The host watches its content root for file changes: an empty folder of its own, as in a container, keeps a busy
    /// temporary folder out of what a benchmark measures.
    /// </remarks>
    public static SiloProcess StartLogged(IReadOnlyDictionary<string, string?> environment, string logPath, string workingDirectory)
    {
        Directory.CreateDirectory(workingDirectory);
        return Launch(environment, [], logPath, workingDirectory);
    }

    private static SiloProcess Launch(IReadOnlyDictionary<string, string?> environment, string[] args, string? logPath, string workingDirectory)
    {
        var env = new Dictionary<string, string?>(environment);
        env.TryAdd("PORT", WorkerSilo.FreePort().ToString());
        env.TryAdd("SILO_PORT", WorkerSilo.FreePort().ToString());
        env.TryAdd("GATEWAY_PORT", WorkerSilo.FreePort().ToString());
        var start = CreateStartInfo(args, env);
        start.WorkingDirectory = workingDirectory;
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var silo = new SiloProcess(process, int.Parse(env["PORT"]!), int.Parse(env["SILO_PORT"]!), env);
        if (logPath is not null)
        {
            silo._log = new StreamWriter(new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        }

        process.OutputDataReceived += (_, e) => silo.Remember(e.Data);
        process.ErrorDataReceived += (_, e) => silo.Remember(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return silo;
    }

    /// <summary>
    /// Runs the executable with <paramref name="args"/> (for example <c>migrate</c>) and <paramref name="environment"/>
    /// to its exit; kills it and throws after <paramref name="timeout"/> (default 60 s).
    /// </summary>
    public static async Task<ProcessRun> RunToExitAsync(
        string[] args, IReadOnlyDictionary<string, string?> environment, TimeSpan? timeout = null)
    {
        using var process = new Process { StartInfo = CreateStartInfo(args, environment) };
        var stopwatch = Stopwatch.StartNew();
        process.Start();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException(
                $"'{string.Join(' ', args)}' did not exit within {(timeout ?? TimeSpan.FromSeconds(60)).TotalSeconds} s\n"
                + new ProcessRun(-1, await stdout, await stderr, stopwatch.Elapsed));
        }

        return new ProcessRun(process.ExitCode, await stdout, await stderr, stopwatch.Elapsed);
    }

    /// <summary>
    /// Polls <c>GET /health</c> until it answers 200; throws with the process's output if it exits first or
    /// <paramref name="timeout"/> (default 60 s) passes.
    /// </summary>
    public async Task WaitHealthyAsync(TimeSpan? timeout = null)
    {
        var last = "no answer yet";
        await Eventually.UntilAsync(
            async () =>
            {
                if (_process.HasExited)
                {
                    throw new InvalidOperationException(Describe($"the silo exited with code {_process.ExitCode} before /health answered 200"));
                }

                try
                {
                    using var probe = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                    using var response = await _http.GetAsync("health", probe.Token);
                    if (response.IsSuccessStatusCode)
                    {
                        return true;
                    }

                    last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
                }
                catch (Exception exception) when (exception is HttpRequestException or OperationCanceledException)
                {
                    last = exception.Message;
                }

                return false;
            },
            timeout ?? TimeSpan.FromSeconds(60),
            "/health answers 200",
            TimeSpan.FromMilliseconds(100),
            () => Describe(last));
    }

    /// <summary>Kills the process at once (SIGKILL, as <c>kill -9</c>) and waits until it is gone.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
    }

    /// <summary>
    /// Sends SIGTERM (as a platform stopping a container does) and waits for the exit; returns the exit code. Throws,
    /// after killing the process, when it has not exited within <paramref name="timeout"/>.
    /// </summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            var signal = await RunProgramAsync("kill", ["-TERM", _process.Id.ToString()]);
            if (signal.ExitCode != 0 && !_process.HasExited)
            {
                throw new InvalidOperationException("kill -TERM failed: " + signal);
            }
        }

        using var limit = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            await KillAsync();
            throw new TimeoutException(Describe($"the silo did not exit within {timeout.TotalSeconds} s of SIGTERM"));
        }

        // WaitForExitAsync also waits for the end of both streams, so the output is complete here.
        return _process.ExitCode;
    }

    /// <summary><paramref name="message"/> followed by the process's recent output.</summary>
    public string Describe(string message) => $"{message}\n--- silo pid {_process.Id} output ---\n{Output}";

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync();
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }

        _http.Dispose();
        _operator.Dispose();
        _process.Dispose();
        lock (_output)
        {
            _log?.Dispose();
            _log = null;
        }
    }

    private static ProcessStartInfo CreateStartInfo(string[] args, IReadOnlyDictionary<string, string?> environment)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = Path.GetTempPath(),
        };
        start.ArgumentList.Add(ExecutablePath);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        ApplyEnvironment(start, environment);
        return start;
    }

    private static async Task<ProcessRun> RunProgramAsync(string program, string[] args)
    {
        using var process = new Process
        {
            StartInfo = new ProcessStartInfo(program, args)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            },
        };
        var stopwatch = Stopwatch.StartNew();
        process.Start();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return new ProcessRun(process.ExitCode, await stdout, await stderr, stopwatch.Elapsed);
    }

    private static void ApplyEnvironment(ProcessStartInfo start, IReadOnlyDictionary<string, string?> environment)
    {
        var inherited = start.Environment.ToList();
        start.Environment.Clear();
        foreach (var (name, value) in inherited)
        {
            if (PassedThrough.Contains(name, StringComparer.Ordinal) || name.StartsWith("DOTNET_", StringComparison.Ordinal))
            {
                start.Environment[name] = value;
            }
        }

        foreach (var (name, value) in environment)
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }
    }

    private static string FindExecutable()
    {
        // The SDK stamps the build configuration (Debug, Release) into every assembly it compiles.
        var configuration = typeof(SiloProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration;
        if (string.IsNullOrEmpty(configuration))
        {
            throw new InvalidOperationException("The test support assembly carries no build configuration.");
        }

        var path = Path.Combine(RepoPaths.Root, "src", "Silo", "bin", configuration, "net10.0", "GenerationWorker.Silo.dll");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"The silo executable is not built: {path} is missing. Build it first: "
                + $"dotnet build src/Silo/GenerationWorker.Silo.csproj -c {configuration}", path);
        }

        return path;
    }

    private void Remember(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _log?.WriteLine(line);
            _output.Enqueue(line);
            while (_output.Count > KeptLines)
            {
                _output.Dequeue();
            }
        }
    }
}
