using System.Diagnostics;
using System.Globalization;

namespace GenerationWorker.Bench.Harness;

/// <summary>
/// <c>dotnet-counters collect</c> on a process, when the tool is installed (<c>dotnet tool install -g dotnet-counters</c>):
/// the managed heap after each GC (sum of the generations) and the GC's committed memory, sampled every second.
/// </summary>
internal sealed class DotnetCounters
{
    private readonly Process _process;
    private readonly string _csv;

    private DotnetCounters(Process process, string csv)
    {
        _process = process;
        _csv = csv;
    }

    /// <summary>Where the tool is, or null when it is not installed.</summary>
    public static string? Tool { get; } = FindTool();

    /// <summary>Starts collecting from <paramref name="pid"/>; null when the tool is not installed.</summary>
    public static DotnetCounters? Start(int pid, string csvPath)
    {
        if (Tool is null)
        {
            return null;
        }

        var info = new ProcessStartInfo(Tool) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "collect", "-p", pid.ToString(CultureInfo.InvariantCulture), "--counters", "System.Runtime", "--refresh-interval", "1", "--format", "csv", "-o", csvPath })
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info)!;
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        return new DotnetCounters(process, csvPath);
    }

    /// <summary>Stops collecting (SIGINT, so that the file is saved) and returns the peaks in bytes.</summary>
    public async Task<(long PeakHeapBytes, long PeakCommittedBytes)> StopAsync()
    {
        using (var kill = Process.Start("kill", ["-INT", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill!.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill();
        }

        if (!File.Exists(_csv))
        {
            return (0, 0);
        }

        var heapByTime = new Dictionary<string, long>(StringComparer.Ordinal);
        long committed = 0;
        foreach (var line in File.ReadLines(_csv).Skip(1))
        {
            var fields = line.Split(',');
            if (fields.Length < 5 || !double.TryParse(fields[^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                continue;
            }

            if (fields[2].StartsWith("dotnet.gc.last_collection.heap.size", StringComparison.Ordinal))
            {
                heapByTime[fields[0]] = heapByTime.GetValueOrDefault(fields[0]) + (long)value;
            }
            else if (fields[2].StartsWith("dotnet.gc.last_collection.memory.committed_size", StringComparison.Ordinal))
            {
                committed = Math.Max(committed, (long)value);
            }
        }

        return (heapByTime.Values.DefaultIfEmpty(0).Max(), committed);
    }

    private static string? FindTool()
    {
        var candidates = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Append(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools"));
        return candidates.Select(dir => Path.Combine(dir, "dotnet-counters")).FirstOrDefault(File.Exists);
    }
}
