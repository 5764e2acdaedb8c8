using GenerationWorker.Bench.Harness;

namespace GenerationWorker.Bench;

/// <summary>The machine the figures were measured on.</summary>
internal sealed record Machine(int Cpus, long MemoryMb, string PostgresVersion, string LoadAverage, string DotnetVersion)
{
    /// <summary>Reads it.</summary>
    public static async Task<Machine> DescribeAsync(CancellationToken cancellationToken)
    {
        var memoryKb = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        var load = string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        return new Machine(
            Environment.ProcessorCount,
            long.Parse(memoryKb, System.Globalization.CultureInfo.InvariantCulture) / 1024,
            await Postgres.VersionAsync(cancellationToken),
            load,
            Environment.Version.ToString());
    }
}
