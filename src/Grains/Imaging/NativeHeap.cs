using System.Runtime.InteropServices;

namespace GenerationWorker.Grains.Imaging;

/// <summary>
/// The C heap that libvips allocates from (glibc's malloc). Each thread that decodes or encodes may get an arena of its
/// own, and glibc keeps what an arena freed: a few 4K encodes on libvips' worker threads leave hundreds of MB resident
/// that no later encode reuses. The arenas are limited to two, and what they hold free is given back after each encode.
/// </summary>
/// <remarks>The same remedy the web app's previous worker (sharp) documents (<c>MALLOC_ARENA_MAX</c>). A no-op off glibc.</remarks>
internal static class NativeHeap
{
    private const int ArenaMax = -8; // M_ARENA_MAX
    private const string Libc = "libc.so.6";

    /// <summary>Limits the heap to <paramref name="arenas"/> arenas (for arenas made from now on).</summary>
    public static void LimitArenas(int arenas) => Try(() => mallopt(ArenaMax, arenas));

    /// <summary>Gives the free memory of every arena back to the system.</summary>
    public static void Trim() => Try(() => malloc_trim(0));

    private static void Try(Func<int> call)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            call();
        }
        catch (Exception exception) when (exception is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc (musl, say): its allocator returns memory by itself.
        }
    }

#pragma warning disable SYSLIB1054 // two plain int calls: no marshalling for a source generator to save
    [DllImport(Libc, ExactSpelling = true)]
    private static extern int mallopt(int param, int value);

    [DllImport(Libc, ExactSpelling = true)]
    private static extern int malloc_trim(nuint pad);
#pragma warning restore SYSLIB1054
}
