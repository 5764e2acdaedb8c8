using System.Text.Json;
using GenerationWorker.Bench.Encode;
using GenerationWorker.Bench.Harness;

namespace GenerationWorker.Bench;

/// <summary>
/// The image encoding libraries compared: NetVips (libvips) and SkiaSharp, each encoding 4K PNGs of photographic-like
/// content (gradients, waves and grain, made once by <see cref="EncodeInputs"/>) to WebP q85 and to PNG. For each
/// library and image, one process encodes one image at a time (the times) and another runs 8 encodes at once (the
/// memory); each reports its peak RSS (VmHWM) and the peak of malloc's bytes in use.
/// </summary>
internal static class EncodeFigure
{
    private static readonly string[] Libraries = ["netvips", "skia"];

    /// <summary>Measures both libraries.</summary>
    public static async Task<FigureResult> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var result = new FigureResult("encode");
        var inputs = EncodeInputs.Ensure(Path.Combine(Repo.ResultsDir, "encode-inputs"));
        var repeats = options.Short ? 1 : 3;
        var times = new Table(
            $"encode one image at a time (decode from the PNG file included; median of {repeats})",
            "library", "image", "input MB", "WebP q85 ms", "WebP MB", "PNG ms", "PNG MB", "peak RSS MB", "peak malloc MB", "library's own peak MB");
        var concurrent = new Table(
            "8 encodes at once (each a WebP then a PNG of the same image)",
            "library", "image", "wall s", "peak RSS MB", "RSS before MB", "peak malloc MB", "library's own peak MB");
        var data = new List<EncodeProbe.ProbeResult>();
        foreach (var input in inputs)
        {
            foreach (var library in Libraries)
            {
                var single = await ProbeAsync(library, input, 1, repeats, cancellationToken);
                data.Add(single);
                times.Row(library, Path.GetFileNameWithoutExtension(input), Mb(new FileInfo(input).Length),
                    Percentiles.Of(single.WebpMs, 50), Mb(single.WebpBytes), Percentiles.Of(single.PngMs, 50), Mb(single.PngBytes),
                    Mb(single.PeakRssBytes), Mb(single.MallocPeakBytes - single.MallocBaselineBytes), Mb(single.LibraryHighwaterBytes));
                var eight = await ProbeAsync(library, input, 8, 1, cancellationToken);
                data.Add(eight);
                concurrent.Row(library, Path.GetFileNameWithoutExtension(input), eight.WallMs / 1000, Mb(eight.PeakRssBytes),
                    Mb(eight.RssBeforeBytes), Mb(eight.MallocPeakBytes - eight.MallocBaselineBytes), Mb(eight.LibraryHighwaterBytes));
            }
        }

        result.Tables.Add(times);
        result.Tables.Add(concurrent);
        result.Notes.Add("one process per row and library: peak RSS is that process's VmHWM (runtime and library loaded, ~30-60 MB before the first encode: 'RSS before').");
        result.Notes.Add("peak malloc: the highest mallinfo2 uordblks+hblkhd sampled every 2 ms, above the figure before the first encode; the library's own peak: libvips's tracked high-water mark (its pixel buffers), Skia has none.");
        result.Notes.Add("libvips runs with its operation cache off and sequential access; Skia decodes the whole image into a bitmap before encoding.");
        result.Set("probes", data);
        return result;
    }

    private static double? Mb(long? bytes) => bytes is { } b ? Math.Round(b / (1024.0 * 1024.0), 1) : null;

    private static async Task<EncodeProbe.ProbeResult> ProbeAsync(
        string library, string input, int concurrency, int repeats, CancellationToken cancellationToken)
    {
        var outDir = Path.Combine(Path.GetTempPath(), "encode-probe-" + Environment.ProcessId);
        var run = await Repo.RunAsync(
            "dotnet",
            [typeof(EncodeFigure).Assembly.Location, "encode-probe", library, input, concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture),
             repeats.ToString(System.Globalization.CultureInfo.InvariantCulture), outDir],
            cancellationToken);
        if (run.ExitCode != 0)
        {
            throw new InvalidOperationException($"encode-probe {library} {input} {concurrency} failed ({run.ExitCode}):\n{run.Output}");
        }

        var line = run.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
        return JsonSerializer.Deserialize<EncodeProbe.ProbeResult>(line)!;
    }
}
