using System.Globalization;

namespace GenerationWorker.Bench.Harness;

/// <summary>
/// The whole machine's CPU time so far, every core together, from the <c>cpu</c> line of <c>/proc/stat</c>: busy (user,
/// nice, system, irq, softirq), steal (taken by the hypervisor for other machines) and the total of every state.
/// </summary>
internal sealed record MachineCpu(double BusySeconds, double StealSeconds, double TotalSeconds)
{
    private const double TicksPerSecond = 100.0; // USER_HZ on Linux

    /// <summary>The reading now, or null where /proc/stat is not readable.</summary>
    public static MachineCpu? Read()
    {
        if (!File.Exists("/proc/stat"))
        {
            return null;
        }

        var line = File.ReadLines("/proc/stat").First(l => l.StartsWith("cpu ", StringComparison.Ordinal));
        var ticks = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8)
            .Select(field => long.Parse(field, CultureInfo.InvariantCulture)).ToArray();
        // user nice system idle iowait irq softirq steal
        var busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6];
        return new MachineCpu(busy / TicksPerSecond, ticks[7] / TicksPerSecond, ticks.Sum() / TicksPerSecond);
    }

    /// <summary>The time spent between <paramref name="earlier"/> and this reading.</summary>
    public MachineCpu Since(MachineCpu earlier) =>
        new(BusySeconds - earlier.BusySeconds, StealSeconds - earlier.StealSeconds, TotalSeconds - earlier.TotalSeconds);
}
