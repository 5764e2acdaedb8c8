namespace GenerationWorker.Grains.Imaging;

/// <summary>How the service encodes the images it stores.</summary>
public sealed class ImageEncoderOptions
{
    /// <summary>The WebP quality of the display image (0-100); default 85, what the app's previous worker used.</summary>
    public const int WebpQuality = 85;

    /// <summary>
    /// The most encodes that run at once in the process; default the processor count. Each encode of a 4K image holds
    /// about 90 MB of native memory at its peak (libwebp needs the whole picture), so this bounds the encoder's share of
    /// the process's memory however many jobs are in flight; the others wait their turn.
    /// </summary>
    public int MaxConcurrentEncodes { get; set; } = Environment.ProcessorCount;

    /// <summary>
    /// Where the encoded files are written (temporary files, deleted when the result is disposed): the directory of
    /// <c>IMAGE_SPOOL_DIR</c> (<see cref="Gemini.GeminiOptions.ImageSpoolDirectory"/>); default null, the system's
    /// temporary directory.
    /// </summary>
    public string? SpoolDirectory { get; set; }
}
