using System.Runtime.InteropServices;

namespace GenerationWorker.Bench.Encode;

/// <summary>
/// The process's memory as glibc and the kernel see it: the bytes malloc has handed out and not freed (every arena,
/// <c>mallinfo2</c>: <c>uordblks + hblkhd</c>) and VmHWM/VmRSS from /proc/self/status. A sampler thread keeps the
/// highest malloc figure seen, since glibc keeps no high-water mark of its own.
/// </summary>
internal sealed class NativeMemory : IDisposable
{
    private readonly Thread _sampler;
    private volatile bool _stopped;
    private long _peak;

    private NativeMemory()
    {
        Baseline = InUse();
        _peak = Baseline;
        _sampler = new Thread(Sample) { IsBackground = true, Name = "malloc sampler" };
        _sampler.Start();
    }

    /// <summary>Bytes in use by malloc when sampling started.</summary>
    public long Baseline { get; }

    /// <summary>The highest malloc figure seen so far, in bytes.</summary>
    public long Peak => Interlocked.Read(ref _peak);

    /// <summary>Starts sampling every 2 ms.</summary>
    public static NativeMemory StartSampling() => new();

    /// <summary>Bytes malloc has handed out and not freed, over every arena.</summary>
    public static long InUse()
    {
        var info = MallInfo2();
        return (long)(info.Uordblks + info.Hblkhd);
    }

    /// <summary>A field of /proc/self/status in bytes (VmHWM, VmRSS, RssAnon...).</summary>
    public static long Status(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException(field + " not in /proc/self/status");
    }

    /// <summary>Stops the sampler.</summary>
    public void Dispose()
    {
        _stopped = true;
        _sampler.Join();
    }

    private void Sample()
    {
        while (!_stopped)
        {
            var now = InUse();
            if (now > Interlocked.Read(ref _peak))
            {
                Interlocked.Exchange(ref _peak, now);
            }

            Thread.Sleep(2);
        }
    }

    [DllImport("libc", EntryPoint = "mallinfo2")]
    private static extern MallInfo MallInfo2();

    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo
    {
        public nuint Arena;
        public nuint Ordblks;
        public nuint Smblks;
        public nuint Hblks;
        public nuint Hblkhd;
        public nuint Usmblks;
        public nuint Fsmblks;
        public nuint Uordblks;
        public nuint Fordblks;
        public nuint Keepcost;
    }
}
