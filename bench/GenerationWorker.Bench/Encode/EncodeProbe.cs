using System.Diagnostics;
using System.Text.Json;
using NetVips;
using SkiaSharp;

namespace GenerationWorker.Bench.Encode;

/// <summary>
/// The child process of the encode figure: <c>encode-probe &lt;netvips|skia&gt; &lt;input.png&gt; &lt;concurrency&gt; &lt;repeats&gt; &lt;outdir&gt;</c>.
/// Runs <c>repeats</c> rounds of <c>concurrency</c> simultaneous encodes, each a WebP q85 then a PNG of the input file
/// (decoding included, as the service decodes Gemini's file), and prints one JSON line: the times of each encode, the
/// process's peak RSS and the peak of malloc's bytes in use. One process per measure, so that VmHWM is this measure's.
/// </summary>
internal static class EncodeProbe
{
    /// <summary>Runs the probe; returns the exit code.</summary>
    public static int Run(string[] args)
    {
        var (library, input, concurrency, repeats, outDir) =
            (args[0], args[1], int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture),
             int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture), args[4]);
        Directory.CreateDirectory(outDir);
        IEncoder encoder = library switch
        {
            "netvips" => new VipsEncoder(),
            "skia" => new SkiaEncoder(),
            _ => throw new ArgumentException("unknown library " + library),
        };

        // Loads the native library before the baseline is taken.
        encoder.Warm();
        var rssBefore = NativeMemory.Status("VmRSS");
        using var memory = NativeMemory.StartSampling();
        var webp = new List<double>();
        var png = new List<double>();
        long webpBytes = 0;
        long pngBytes = 0;
        var wall = Stopwatch.StartNew();
        for (var round = 0; round < repeats; round++)
        {
            var results = Enumerable.Range(0, concurrency).Select(i => Task.Run(() =>
            {
                var webpPath = Path.Combine(outDir, $"{library}-{i}.webp");
                var pngPath = Path.Combine(outDir, $"{library}-{i}.png");
                var started = Stopwatch.GetTimestamp();
                encoder.Webp(input, webpPath, 85);
                var webpMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                started = Stopwatch.GetTimestamp();
                encoder.Png(input, pngPath);
                var pngMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                var sizes = (new FileInfo(webpPath).Length, new FileInfo(pngPath).Length);
                File.Delete(webpPath);
                File.Delete(pngPath);
                return (webpMs, pngMs, sizes);
            })).ToArray();
            Task.WaitAll(results);
            foreach (var result in results.Select(r => r.Result))
            {
                webp.Add(result.webpMs);
                png.Add(result.pngMs);
                (webpBytes, pngBytes) = result.sizes;
            }
        }

        var wallMs = wall.Elapsed.TotalMilliseconds;
        var peakMalloc = memory.Peak;
        var baseline = memory.Baseline;
        memory.Dispose();
        Console.WriteLine(JsonSerializer.Serialize(new ProbeResult(
            library, Path.GetFileName(input), concurrency, repeats, webp, png, wallMs, webpBytes, pngBytes,
            rssBefore, NativeMemory.Status("VmHWM"), baseline, peakMalloc, encoder.NativeHighwater())));
        return 0;
    }

    /// <summary>What one probe process measured (bytes, milliseconds).</summary>
    internal sealed record ProbeResult(
        string Library, string Input, int Concurrency, int Repeats, List<double> WebpMs, List<double> PngMs, double WallMs,
        long WebpBytes, long PngBytes, long RssBeforeBytes, long PeakRssBytes, long MallocBaselineBytes, long MallocPeakBytes,
        long? LibraryHighwaterBytes);

    private interface IEncoder
    {
        void Warm();

        void Webp(string input, string output, int quality);

        void Png(string input, string output);

        long? NativeHighwater();
    }

    /// <summary>libvips: sequential access from the file, the operation cache off (the service never repeats an operation).</summary>
    private sealed class VipsEncoder : IEncoder
    {
        public void Warm()
        {
            Cache.Max = 0;
            Cache.MaxMem = 0;
            Cache.MaxFiles = 0;
            _ = NetVips.NetVips.Version(0);
        }

        public void Webp(string input, string output, int quality)
        {
            using var image = Image.NewFromFile(input, access: Enums.Access.Sequential);
            image.Webpsave(output, q: quality);
        }

        public void Png(string input, string output)
        {
            using var image = Image.NewFromFile(input, access: Enums.Access.Sequential);
            image.Pngsave(output);
        }

        public long? NativeHighwater() => (long)Stats.MemHighwater;
    }

    /// <summary>Skia: the whole image decoded into a bitmap, then encoded.</summary>
    private sealed class SkiaEncoder : IEncoder
    {
        public void Warm() => _ = SKGraphics.GetFontCacheLimit();

        public void Webp(string input, string output, int quality)
        {
            using var bitmap = SKBitmap.Decode(input) ?? throw new InvalidOperationException("skia could not decode " + input);
            using var file = File.Create(output);
            if (!bitmap.Encode(file, SKEncodedImageFormat.Webp, quality))
            {
                throw new InvalidOperationException("skia could not encode WebP");
            }
        }

        public void Png(string input, string output)
        {
            using var bitmap = SKBitmap.Decode(input) ?? throw new InvalidOperationException("skia could not decode " + input);
            using var file = File.Create(output);
            if (!bitmap.Encode(file, SKEncodedImageFormat.Png, 100))
            {
                throw new InvalidOperationException("skia could not encode PNG");
            }
        }

        public long? NativeHighwater() => null;
    }
}
