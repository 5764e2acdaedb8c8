using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace GenerationWorker.Bench.Harness;

/// <summary>
/// A process of the system under test (a silo, the emulator), its output in a log file, measured from outside through
/// <c>/proc</c>. Every started or tracked process is registered so that an interrupted run still ends them.
/// </summary>
internal sealed class ChildProcess
{
    private static readonly ConcurrentDictionary<int, ChildProcess> Running = new();
    private static readonly double TicksPerSecond = 100.0; // USER_HZ on Linux

    private readonly Process _process;

    private ChildProcess(string name, Process process, string logPath)
    {
        Name = name;
        _process = process;
        LogPath = logPath;
    }

    /// <summary>A short name for tables and messages.</summary>
    public string Name { get; }

    /// <summary>The operating system's process id.</summary>
    public int Pid => _process.Id;

    /// <summary>Where its standard output and error go.</summary>
    public string LogPath { get; }

    /// <summary>True once it has ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Starts <c>dotnet <paramref name="dll"/></c>. A <c>bash exec</c> wrapper redirects the output to the log file, so the
    /// pid is the .NET process itself and no pipe has to be drained by this process. The working directory (the host's
    /// content root, which ASP.NET Core watches for file changes) is an empty folder of its own, as in a container.
    /// </summary>
    public static ChildProcess StartDotnet(
        string name, string dll, IEnumerable<string> args, IReadOnlyDictionary<string, string?> environment, string logPath,
        string workingDirectory)
    {
        Directory.CreateDirectory(workingDirectory);
        var info = new ProcessStartInfo("bash")
        {
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
            RedirectStandardInput = false,
        };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("exec \"$0\" \"$@\" >>\"$LOG_FILE\" 2>&1");
        info.ArgumentList.Add("dotnet");
        info.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            if (value is null)
            {
                info.Environment.Remove(key);
            }
            else
            {
                info.Environment[key] = value;
            }
        }

        info.Environment["LOG_FILE"] = logPath;
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + name);
        var child = new ChildProcess(name, process, logPath);
        Running[process.Id] = child;
        return child;
    }

    /// <summary>
    /// Registers a process started elsewhere (a silo of the tests' <c>SiloProcess</c>) to be measured through
    /// <c>/proc</c> and ended with the others; its output goes to <paramref name="logPath"/>.
    /// </summary>
    public static ChildProcess Track(string name, int pid, string logPath)
    {
        var child = new ChildProcess(name, Process.GetProcessById(pid), logPath);
        Running[pid] = child;
        return child;
    }

    /// <summary>Ends every process still registered (SIGKILL).</summary>
    public static void KillAll()
    {
        foreach (var child in Running.Values)
        {
            child.Kill();
        }
    }

    /// <summary>SIGKILL, as a crash or an OOM kill would; returns once the process is gone.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        Running.TryRemove(_process.Id, out _);
    }

    /// <summary>Peak resident set size (VmHWM) in bytes, or null once the process is gone.</summary>
    public long? PeakRssBytes => ReadStatusKb("VmHWM") * 1024;

    /// <summary>Current resident set size (VmRSS) in bytes, or null once the process is gone.</summary>
    public long? RssBytes => ReadStatusKb("VmRSS") * 1024;

    /// <summary>A field of <c>/proc/&lt;pid&gt;/status</c> in kB (or a plain count, for <c>Threads</c>), or null once the process is gone.</summary>
    public long? Status(string field) => ReadStatusKb(field);

    /// <summary>User plus system CPU time used so far, or null once the process is gone.</summary>
    public TimeSpan? CpuTime
    {
        get
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{Pid}/stat");
                // Fields after the command name (which may contain spaces) start after the last ')'.
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                return TimeSpan.FromSeconds(ticks / TicksPerSecond);
            }
            catch (IOException)
            {
                return null;
            }
        }
    }

    /// <summary>The last lines of the log, for error messages.</summary>
    public string LogTail(int lines = 30)
    {
        try
        {
            var all = File.ReadAllLines(LogPath);
            return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }

    /// <summary>True when the log holds <paramref name="text"/>.</summary>
    public bool LogContains(string text)
    {
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd().Contains(text, StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    private long? ReadStatusKb(string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
            {
                if (line.StartsWith(field + ":", StringComparison.Ordinal))
                {
                    var number = line[(field.Length + 1)..].Trim().Split(' ')[0];
                    return long.Parse(number, CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }

        return null;
    }
}
