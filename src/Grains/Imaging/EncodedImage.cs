using GenerationWorker.Grains.Gemini;

namespace GenerationWorker.Grains.Imaging;

/// <summary>One encoded image: its bytes (a temporary file, or memory when small), type, length and pixel size.</summary>
/// <remarks>Owned by the <see cref="EncodedImages"/> it belongs to; disposing that deletes the file.</remarks>
public sealed class EncodedImage
{
    private readonly GeneratedImage _bytes;

    internal EncodedImage(GeneratedImage bytes, string contentType, int width, int height)
    {
        _bytes = bytes;
        ContentType = contentType;
        Width = width;
        Height = height;
    }

    /// <summary><c>image/png</c> or <c>image/webp</c>.</summary>
    public string ContentType { get; }

    /// <summary>The exact length of the encoded bytes.</summary>
    public long Length => _bytes.Length;

    /// <summary>The width in pixels.</summary>
    public int Width { get; }

    /// <summary>The height in pixels.</summary>
    public int Height { get; }

    /// <summary>A new read-only, seekable stream over the whole image at its start; any number may be opened.</summary>
    /// <exception cref="ObjectDisposedException">The result was disposed.</exception>
    public Stream OpenRead() => _bytes.OpenRead();

    internal void Delete() => _bytes.Dispose();
}

/// <summary>
/// What <see cref="ImageEncoder.EncodeAsync"/> produced: the PNG original and the WebP display image. Dispose it once
/// both are stored or given up: that deletes their temporary files (they are also deleted when finalized).
/// </summary>
public sealed class EncodedImages : IDisposable
{
    internal EncodedImages(EncodedImage original, EncodedImage display, bool originalIsSourceBytes)
    {
        Original = original;
        Display = display;
        OriginalIsSourceBytes = originalIsSourceBytes;
    }

    /// <summary>The original, <c>image/png</c> (stored as <c>{assetId}_original.png</c>).</summary>
    public EncodedImage Original { get; }

    /// <summary>The display image, <c>image/webp</c> at quality <see cref="ImageEncoderOptions.WebpQuality"/>.</summary>
    public EncodedImage Display { get; }

    /// <summary>True when <see cref="Original"/> holds the source's bytes unchanged (a PNG, no resize asked).</summary>
    public bool OriginalIsSourceBytes { get; }

    /// <summary>Deletes both files. Idempotent.</summary>
    public void Dispose()
    {
        Original.Delete();
        Display.Delete();
    }
}
