using System.Text.Json;
using GenerationWorker.Bench.Encode;
using GenerationWorker.Bench.Harness;

namespace GenerationWorker.Bench;

/// <summary>
/// The service's <c>ImageEncoder</c> (libvips) on 4K PNGs of photographic-like content (made once by
/// <see cref="EncodeInputs"/>), each spooled to a temporary file as the service holds Gemini's answers: the time and
/// memory of one encode (PNG kept, WebP q85; and resized to 2048 px), and the peak memory of 8 encodes asked at once,
/// with the encoder's default bound (the processor count) and with a bound of 8. One process per row.
/// </summary>
internal static class EncodeFigure
{
    /// <summary>Measures the rows.</summary>
    public static async Task<FigureResult> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var result = new FigureResult("encode");
        var inputs = EncodeInputs.Ensure(Path.Combine(Repo.ResultsDir, "encode-inputs"));
        var repeats = options.Short ? 1 : 3;
        var table = new Table(
            $"ImageEncoder (libvips): one row per process; times per encode (median; one at a time: of {repeats})",
            "image", "encodes", "bound", "resize", "ms per encode", "wall s", "PNG MB", "WebP KB", "peak RSS MB", "RSS before MB", "peak malloc MB", "libvips peak MB");
        var data = new List<EncodeProbe.ProbeResult>();
        foreach (var input in inputs)
        {
            foreach (var (images, bound, longSide, rounds) in new[]
                     {
                         (1, 1, 0, repeats), (1, 1, 2048, repeats),
                         (8, Environment.ProcessorCount, 0, 1), (8, 8, 0, 1),
                     })
            {
                var probe = await ProbeAsync(input, images, bound, longSide, rounds, cancellationToken);
                data.Add(probe);
                table.Row(Path.GetFileNameWithoutExtension(input), images, bound,
                    longSide > 0 ? $"{probe.Output.Width}x{probe.Output.Height}" : probe.Output.PngKept ? "none (PNG kept)" : "none",
                    Percentiles.Of(probe.EncodeMs, 50), probe.WallMs / 1000, Mb(probe.Output.PngBytes), probe.Output.WebpBytes / 1024,
                    Mb(probe.PeakRssBytes), Mb(probe.RssBeforeBytes), Mb(probe.MallocPeakBytes - probe.MallocBaselineBytes), Mb(probe.LibvipsHighwaterBytes));
            }
        }

        result.Tables.Add(table);
        result.Notes.Add($"libvips {data[0].Libvips}; the default bound is the processor count ({Environment.ProcessorCount} here). An encode's time includes its wait for a slot.");
        result.Notes.Add("peak RSS: the process's VmHWM ('RSS before': runtime, libvips and the spooled sources, before the first encode); peak malloc: the highest mallinfo2 uordblks+hblkhd sampled every 2 ms, above its figure before the first encode; libvips peak: libvips's own tracked high-water mark (pixel buffers).");
        result.Notes.Add("a WebP encode holds the whole picture (libwebp): ~85 MB of malloc for a 4K image, whatever the library; the PNG original of a PNG source is copied, not decoded.");
        result.Set("probes", data);
        return result;
    }

    private static double Mb(long bytes) => Math.Round(bytes / (1024.0 * 1024.0), 1);

    private static async Task<EncodeProbe.ProbeResult> ProbeAsync(
        string input, int images, int bound, int longSide, int repeats, CancellationToken cancellationToken)
    {
        var run = await Repo.RunAsync(
            "dotnet",
            [typeof(EncodeFigure).Assembly.Location, "encode-probe", input, .. new[] { images, bound, longSide, repeats }.Select(n => n.ToString(System.Globalization.CultureInfo.InvariantCulture))],
            cancellationToken);
        if (run.ExitCode != 0)
        {
            throw new InvalidOperationException($"encode-probe {input} {images} {bound} {longSide} failed ({run.ExitCode}):\n{run.Output}");
        }

        var line = run.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
        return JsonSerializer.Deserialize<EncodeProbe.ProbeResult>(line)!;
    }
}
