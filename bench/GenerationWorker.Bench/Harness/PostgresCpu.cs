using System.Globalization;

namespace GenerationWorker.Bench.Harness;

/// <summary>
/// CPU time of the PostgreSQL server's processes on this machine (every process named <c>postgres</c>), read from /proc.
/// A backend that exits between two readings takes its time with it: read around a run whose connections stay open.
/// </summary>
internal static class PostgresCpu
{
    private const double TicksPerSecond = 100.0; // USER_HZ on Linux

    /// <summary>User plus system seconds of every live postgres process, or null where /proc is not readable.</summary>
    public static double? Seconds()
    {
        if (!Directory.Exists("/proc"))
        {
            return null;
        }

        var ticks = 0L;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out _))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var name = stat[(stat.IndexOf('(') + 1)..stat.LastIndexOf(')')];
                if (name != "postgres")
                {
                    continue;
                }

                // Fields after the command name start after the last ')': utime and stime are the 12th and 13th.
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or FormatException)
            {
                // The process exited while being read.
            }
        }

        return ticks / TicksPerSecond;
    }
}
