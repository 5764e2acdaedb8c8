using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Imaging;

/// <summary>The encoder's log lines.</summary>
public sealed partial class ImageEncoder
{
    [LoggerMessage(EventId = 2701, Level = LogLevel.Information,
        Message = "Image encoder ready: libvips {LibvipsVersion}, at most {MaxConcurrentEncodes} encodes at once")]
    private partial void LogReady(string libvipsVersion, int maxConcurrentEncodes);

    [LoggerMessage(EventId = 2702, Level = LogLevel.Debug,
        Message = "Encoded a {Format} image of {SourceBytes} bytes: {Width}x{Height}, PNG {PngBytes} bytes, WebP {WebpBytes} bytes in {ElapsedMs} ms")]
    private partial void LogEncoded(string format, long sourceBytes, int width, int height, long pngBytes, long webpBytes, long elapsedMs);
}
