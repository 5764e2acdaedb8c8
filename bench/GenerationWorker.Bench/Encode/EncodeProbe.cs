using System.Diagnostics;
using System.Text.Json;
using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Imaging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GenerationWorker.Bench.Encode;

/// <summary>
/// The child process of the encode figure:
/// <c>encode-probe &lt;input.png&gt; &lt;images&gt; &lt;bound&gt; &lt;longSide or 0&gt; &lt;repeats&gt;</c>. Spools
/// <c>images</c> copies of the input to temporary files (as the service holds Gemini's answers), then runs
/// <c>repeats</c> rounds of encoding all of them at once through one <see cref="ImageEncoder"/> whose bound is
/// <c>bound</c>, and prints one JSON line: each encode's time (waiting for a slot included), the process's peak RSS and
/// the peak of malloc's bytes in use. One process per measure, so that VmHWM is this measure's.
/// </summary>
internal static class EncodeProbe
{
    /// <summary>Runs the probe; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var numbers = args[1..].Select(a => int.Parse(a, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var (input, images, bound, longSide, repeats) = (args[0], numbers[0], numbers[1], numbers[2], numbers[3]);
        var spool = Directory.CreateTempSubdirectory("encode-probe-").FullName;
        try
        {
            using var encoder = new ImageEncoder(
                new ImageEncoderOptions { MaxConcurrentEncodes = bound, SpoolDirectory = spool }, TimeProvider.System, NullLogger<ImageEncoder>.Instance);
            var sources = Enumerable.Range(0, images).Select(_ => SpoolFile(input, spool)).ToList();
            var rssBefore = NativeMemory.Status("VmRSS");
            using var memory = NativeMemory.StartSampling();
            var times = new List<double>();
            EncodedSizes? sizes = null;
            var wall = Stopwatch.StartNew();
            for (var round = 0; round < repeats; round++)
            {
                var encodes = sources.Select(async source =>
                {
                    var started = Stopwatch.GetTimestamp();
                    using var result = await encoder.EncodeAsync(source, longSide > 0 ? longSide : null);
                    return (Stopwatch.GetElapsedTime(started).TotalMilliseconds, new EncodedSizes(
                        result.Original.Width, result.Original.Height, result.Original.Length, result.Display.Length, result.OriginalIsSourceBytes));
                }).ToList();
                foreach (var (ms, encoded) in await Task.WhenAll(encodes))
                {
                    times.Add(ms);
                    sizes = encoded;
                }
            }

            var wallMs = wall.Elapsed.TotalMilliseconds;
            var (baseline, peakMalloc) = (memory.Baseline, memory.Peak);
            memory.Dispose();
            sources.ForEach(s => s.Dispose());
            Console.WriteLine(JsonSerializer.Serialize(new ProbeResult(
                Path.GetFileName(input), images, bound, longSide, repeats, times, wallMs, sizes!, rssBefore, NativeMemory.Status("VmHWM"),
                baseline, peakMalloc, (long)NetVips.Stats.MemHighwater, ImageEncoder.LibraryVersion)));
            return 0;
        }
        finally
        {
            Directory.Delete(spool, recursive: true);
        }
    }

    /// <summary>The file as the service holds a large answer: spooled chunk by chunk to a temporary file.</summary>
    private static GeneratedImage SpoolFile(string path, string directory)
    {
        using var spool = new ImageSpool(directory);
        using var file = File.OpenRead(path);
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = file.Read(buffer)) > 0)
        {
            spool.Write(buffer.AsSpan(0, read));
        }

        return spool.Complete("image/png");
    }

    /// <summary>What one encode produced.</summary>
    internal sealed record EncodedSizes(int Width, int Height, long PngBytes, long WebpBytes, bool PngKept);

    /// <summary>What one probe process measured (bytes, milliseconds).</summary>
    internal sealed record ProbeResult(
        string Input, int Images, int Bound, int LongSide, int Repeats, List<double> EncodeMs, double WallMs, EncodedSizes Output,
        long RssBeforeBytes, long PeakRssBytes, long MallocBaselineBytes, long MallocPeakBytes, long LibvipsHighwaterBytes, string Libvips);
}
