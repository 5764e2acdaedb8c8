using GenerationWorker.TestSupport;
using Npgsql;

namespace GenerationWorker.Bench;

/// <summary>The machine the figures were measured on.</summary>
internal sealed record Machine(int Cpus, long MemoryMb, string PostgresVersion, string LoadAverage, string DotnetVersion, double SpeedProbeMs)
{
    private static readonly byte[] ProbeData = new byte[64 * 1024 * 1024];

    /// <summary>
    /// Milliseconds one core takes now for a fixed piece of work: SHA-256 over 64 MiB, the median of 5. On a virtual
    /// machine whose cores are shared the same work can take a third longer from one minute to the next; this tells
    /// runs measured on a slow minute from slower code.
    /// </summary>
    public static double ProbeSpeedMs()
    {
        var times = new double[5];
        for (var i = 0; i < times.Length; i++)
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            System.Security.Cryptography.SHA256.HashData(ProbeData);
            times[i] = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }

        Array.Sort(times);
        return Math.Round(times[times.Length / 2], 1);
    }

    /// <summary>Reads it.</summary>
    public static async Task<Machine> DescribeAsync(CancellationToken cancellationToken)
    {
        var memoryKb = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        var load = string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        return new Machine(
            Environment.ProcessorCount,
            long.Parse(memoryKb, System.Globalization.CultureInfo.InvariantCulture) / 1024,
            await PostgresVersionAsync(cancellationToken),
            load,
            Environment.Version.ToString(),
            ProbeSpeedMs());
    }

    private static async Task<string> PostgresVersionAsync(CancellationToken cancellationToken)
    {
        await using var admin = new NpgsqlConnection(PostgresServer.AdminConnectionString);
        await admin.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SHOW server_version", admin);
        return (string)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
