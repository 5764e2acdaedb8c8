using System.Buffers.Binary;
using GenerationWorker.Grains.Gemini;
using Microsoft.Extensions.Logging;
using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;
using NetVips;

namespace GenerationWorker.Grains.Imaging;

/// <summary>
/// Turns a generated image (PNG, JPEG, WebP or GIF bytes, whatever MIME type came with them) into what the app stores:
/// the PNG original and a WebP at quality 85, optionally resized first so that the long side is exactly N pixels.
/// Uses libvips (NetVips), the library of the app's previous worker (sharp).
/// </summary>
/// <remarks>
/// <para>At most <see cref="ImageEncoderOptions.MaxConcurrentEncodes"/> encodes run at once; the others wait, so the
/// native memory the encodes hold is bounded however many jobs are in flight. Each output is its own pipeline reading the
/// source with sequential access, so a PNG output streams line by line; a WebP output needs the whole picture (libwebp).</para>
/// <para>A PNG source with no resize asked is kept byte for byte as the original (copied, so that the result does not
/// depend on the source's lifetime). Outputs go to temporary files in <see cref="ImageEncoderOptions.SpoolDirectory"/>,
/// opened with <see cref="FileOptions.DeleteOnClose"/>.</para>
/// <para>libvips's operation cache is switched off for the process: the service never repeats an operation, and the
/// cache would keep decoded images alive.</para>
/// </remarks>
public sealed partial class ImageEncoder : IDisposable
{
    /// <summary>How many leading bytes <see cref="SniffContentType"/> needs to tell every format it knows.</summary>
    public const int SniffLength = 12;

    /// <summary>Images of this many pixels or more (above 2K: 2048 x 2048 is 4.2 million) are encoded one at a time.</summary>
    public const long LargePixels = 4_500_000;

    private readonly SemaphoreSlim _gate;
    private readonly SemaphoreSlim _large;
    private readonly string _directory;
    private readonly TimeProvider _time;
    private readonly ILogger<ImageEncoder> _logger;
    private int _active;

    /// <summary>Creates the encoder; fails when libvips cannot be loaded.</summary>
    /// <exception cref="InvalidOperationException">The native libvips library did not load.</exception>
    public ImageEncoder(ImageEncoderOptions options, TimeProvider time, ILogger<ImageEncoder> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxConcurrentEncodes, 1);
        if (!ModuleInitializer.VipsInitialized)
        {
            throw new InvalidOperationException("libvips (NetVips.Native) could not be loaded", ModuleInitializer.Exception);
        }

        Cache.Max = 0;
        Cache.MaxMem = 0;
        Cache.MaxFiles = 0;
        NativeHeap.LimitArenas(2);
        _gate = new SemaphoreSlim(options.MaxConcurrentEncodes, options.MaxConcurrentEncodes);
        _large = new SemaphoreSlim(1, 1);
        _directory = options.SpoolDirectory is { Length: > 0 } directory ? directory : Path.GetTempPath();
        _time = time;
        _logger = logger;
        LogReady(LibraryVersion, options.MaxConcurrentEncodes);
    }

    /// <summary>The libvips version loaded, for example <c>8.18.7</c>.</summary>
    public static string LibraryVersion => $"{NetVips.NetVips.Version(0)}.{NetVips.NetVips.Version(1)}.{NetVips.NetVips.Version(2)}";

    /// <summary>The number of encodes running now (holding a slot of the bound).</summary>
    public int ActiveEncodes => Volatile.Read(ref _active);

    /// <summary>Test hook: awaited by each encode once it holds its slot, before it starts working.</summary>
    internal Func<CancellationToken, Task>? OnSlotTaken { get; set; }

    /// <summary>
    /// The content type that <paramref name="header"/> (the first <see cref="SniffLength"/> bytes of a file, or fewer)
    /// starts with: <c>image/png</c>, <c>image/jpeg</c>, <c>image/webp</c> or <c>image/gif</c>; null for anything else.
    /// </summary>
    public static string? SniffContentType(ReadOnlySpan<byte> header)
    {
        if (header.StartsWith((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        {
            return "image/png";
        }

        if (header.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]))
        {
            return "image/jpeg";
        }

        if (header.Length >= 12 && header.StartsWith("RIFF"u8) && header[8..12].SequenceEqual("WEBP"u8))
        {
            return "image/webp";
        }

        if (header.StartsWith("GIF87a"u8) || header.StartsWith("GIF89a"u8))
        {
            return "image/gif";
        }

        return null;
    }

    /// <summary>
    /// Encodes <paramref name="source"/>: the PNG original and the WebP q85, both resized first when
    /// <paramref name="longSide"/> is given (the long side becomes exactly that many pixels, up or down, the aspect ratio
    /// kept). Waits for a slot when <see cref="ImageEncoderOptions.MaxConcurrentEncodes"/> encodes are running.
    /// </summary>
    /// <param name="source">The image; read only, not disposed. Its MIME type is ignored: the bytes tell the format.</param>
    /// <param name="longSide">The long side to resize to, in pixels (edits: 2048); null keeps the size.</param>
    /// <param name="cancellationToken">Cancels the wait for a slot (an encode that started runs to its end).</param>
    /// <returns>The two images, in temporary files deleted when it is disposed.</returns>
    /// <exception cref="ImageEncodeException">The bytes are not an image of a known format, or do not decode.</exception>
    /// <exception cref="IOException">The temporary directory could not be written.</exception>
    public async Task<EncodedImages> EncodeAsync(GeneratedImage source, int? longSide = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (longSide is { } side)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(side, 1, nameof(longSide));
        }

        var format = Sniff(source);
        var large = !IsSmallPng(source, format);
        // A large image waits for its own turn first, so that it holds no slot of the bound while it waits.
        if (large)
        {
            await _large.WaitAsync(cancellationToken);
        }

        try
        {
            await _gate.WaitAsync(cancellationToken);
        }
        catch
        {
            if (large)
            {
                _large.Release();
            }

            throw;
        }

        try
        {
            Interlocked.Increment(ref _active);
            if (OnSlotTaken is { } hook)
            {
                await hook(cancellationToken);
            }

            var started = _time.GetTimestamp();
            var result = await Task.Run(() => Encode(source, format, longSide), CancellationToken.None);
            LogEncoded(format, source.Length, result.Original.Width, result.Original.Height, result.Original.Length,
                result.Display.Length, (long)_time.GetElapsedTime(started).TotalMilliseconds);
            return result;
        }
        finally
        {
            if (Interlocked.Decrement(ref _active) == 0)
            {
                // The last encode of a burst: what libvips freed goes back to the system instead of staying resident.
                NativeHeap.Trim();
            }

            if (large)
            {
                _large.Release();
            }

            _gate.Release();
        }
    }

    /// <summary>Releases the concurrency bounds' semaphores.</summary>
    public void Dispose()
    {
        _gate.Dispose();
        _large.Dispose();
    }

    /// <summary>
    /// True for a PNG of fewer than <see cref="LargePixels"/> pixels (read from its header). Anything else counts as
    /// large: WebP encoding holds the whole picture (about 6 bytes a pixel), so two 4K encodes at once (5504 x 3072:
    /// about 100 MB each) would take a silo past its memory target, while smaller images encode side by side.
    /// </summary>
    private static bool IsSmallPng(GeneratedImage source, string format)
    {
        if (format != "image/png")
        {
            return false;
        }

        Span<byte> header = stackalloc byte[24];
        using var stream = source.OpenRead();
        if (stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length)
        {
            return false;
        }

        var pixels = (long)BinaryPrimitives.ReadUInt32BigEndian(header[16..20]) * BinaryPrimitives.ReadUInt32BigEndian(header[20..24]);
        return pixels < LargePixels;
    }

    private static string Sniff(GeneratedImage source)
    {
        Span<byte> header = stackalloc byte[SniffLength];
        using var stream = source.OpenRead();
        var read = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        return SniffContentType(header[..read])
            ?? throw new ImageEncodeException(ImageEncodeFailure.UnknownFormat,
                $"the image ({source.Length} bytes, declared {source.MimeType}) is not PNG, JPEG, WebP or GIF");
    }

    private EncodedImages Encode(GeneratedImage source, string format, int? longSide)
    {
        EncodedImage? original = null;
        try
        {
            bool kept;
            if (longSide is null)
            {
                kept = format == "image/png";
                original = kept ? CopySource(source) : Save(source, format, png: true);
                var display = Save(source, format, png: false);
                return new EncodedImages(original, display, kept);
            }

            // One decode and resize, held in memory (2048 px: 16 MB at most), saved twice.
            var io = new VipsIo();
            using var stream = source.OpenRead();
            using var input = io.Source(stream);
            using var decoded = Decode(format, io, () => Image.NewFromSource(input, access: Enums.Access.Sequential, failOn: Enums.FailOn.Error));
            using var resized = Decode(format, io, () =>
            {
                using var scaled = decoded.ThumbnailImage(longSide.Value, height: longSide.Value, size: Enums.Size.Both, noRotate: true);
                return scaled.CopyMemory();
            });
            original = Write(resized, format, png: true, io);
            return new EncodedImages(original, Write(resized, format, png: false, io), false);
        }
        catch
        {
            original?.Delete();
            throw;
        }
    }

    /// <summary>Decodes <paramref name="source"/> sequentially and saves it as PNG or WebP.</summary>
    private EncodedImage Save(GeneratedImage source, string format, bool png)
    {
        var io = new VipsIo();
        using var stream = source.OpenRead();
        using var input = io.Source(stream);
        using var image = Decode(format, io, () => Image.NewFromSource(input, access: Enums.Access.Sequential, failOn: Enums.FailOn.Error));
        return Write(image, format, png, io);
    }

    /// <summary>Saves <paramref name="image"/> (its pixels are computed now) to a new temporary file.</summary>
    private EncodedImage Write(Image image, string format, bool png, VipsIo io)
    {
        var (width, height) = (image.Width, image.Height);
        var file = CreateFile(png ? "png" : "webp");
        try
        {
            var length = new StrongBox<long>();
            using var target = io.Target(file, length);
            Decode(format, io, () =>
            {
                if (png)
                {
                    image.PngsaveTarget(target);
                }
                else
                {
                    image.WebpsaveTarget(target, q: ImageEncoderOptions.WebpQuality);
                }

                return true;
            });
            return new EncodedImage(GeneratedImage.FromFile(file, length.Value, png ? "image/png" : "image/webp"),
                png ? "image/png" : "image/webp", width, height);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Copies the source's bytes, unchanged, to a new temporary file (or memory, as the source holds them).</summary>
    private EncodedImage CopySource(GeneratedImage source)
    {
        // The header alone gives the size; no pixel is decoded.
        int width;
        int height;
        var io = new VipsIo();
        using (var stream = source.OpenRead())
        using (var input = io.Source(stream))
        using (var header = Decode("image/png", io, () => Image.NewFromSource(input, access: Enums.Access.Sequential, failOn: Enums.FailOn.Error)))
        {
            (width, height) = (header.Width, header.Height);
        }

        if (!source.IsFileBacked)
        {
            using var stream = source.OpenRead();
            var bytes = new byte[source.Length];
            stream.ReadExactly(bytes);
            return new EncodedImage(GeneratedImage.FromBytes(bytes, "image/png"), "image/png", width, height);
        }

        var file = CreateFile("png");
        try
        {
            using var stream = source.OpenRead();
            var buffer = new byte[81920];
            long offset = 0;
            int read;
            while ((read = stream.Read(buffer)) > 0)
            {
                RandomAccess.Write(file, buffer.AsSpan(0, read), offset);
                offset += read;
            }

            return new EncodedImage(GeneratedImage.FromFile(file, offset, "image/png"), "image/png", width, height);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private SafeFileHandle CreateFile(string extension) =>
        File.OpenHandle(Path.Combine(_directory, $"encoded-{Guid.NewGuid():N}.{extension}"),
            FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, FileOptions.DeleteOnClose);

    /// <summary>
    /// Runs a libvips call. Its failure becomes an <see cref="ImageEncodeException"/> (the bytes are at fault), unless
    /// a read or write of <paramref name="io"/> failed first: then that <see cref="IOException"/> is thrown (the machine is).
    /// </summary>
    private static T Decode<T>(string format, VipsIo io, Func<T> call)
    {
        try
        {
            return call();
        }
        catch (VipsException exception)
        {
            if (io.Failure is IOException ioFailure)
            {
                throw new IOException(ioFailure.Message, ioFailure);
            }

            if (io.Failure is { } failure)
            {
                throw new IOException("the image's temporary file could not be read or written", failure);
            }

            throw new ImageEncodeException(ImageEncodeFailure.Corrupt,
                $"the {format} image could not be decoded: {FirstLine(exception.Message)}", exception);
        }
    }

    private static string FirstLine(string message)
    {
        var line = message.AsSpan().Trim();
        var end = line.IndexOfAny('\n', '\r');
        return (end < 0 ? line : line[..end]).ToString();
    }
}
