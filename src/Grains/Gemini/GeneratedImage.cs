using Microsoft.Win32.SafeHandles;

namespace GenerationWorker.Grains.Gemini;

/// <summary>
/// The bytes of an image Gemini produced, kept off the managed heap when large: in a temporary file that is deleted
/// when the image is disposed, or in memory when the image is small (see <see cref="ImageSpool.MemoryLimitBytes"/>).
/// </summary>
/// <remarks>
/// <see cref="OpenRead"/> may be called any number of times (each upload try reads the image from its start); the streams
/// it returns share the file and must not outlive the image. Dispose the image once it is stored or given up: that
/// deletes the file. The file is opened with <see cref="FileOptions.DeleteOnClose"/>, so even a forgotten image loses its
/// file when its handle is finalized.
/// </remarks>
public sealed class GeneratedImage : IDisposable
{
    private readonly byte[]? _bytes;
    private readonly SafeFileHandle? _file;

    private GeneratedImage(string mimeType, long length, byte[]? bytes, SafeFileHandle? file)
    {
        MimeType = mimeType;
        Length = length;
        _bytes = bytes;
        _file = file;
    }

    /// <summary>The MIME type Gemini reported, for example <c>image/png</c>.</summary>
    public string MimeType { get; }

    /// <summary>The length of the decoded image, in bytes.</summary>
    public long Length { get; }

    /// <summary>True when the image is held in a temporary file rather than in memory.</summary>
    public bool IsFileBacked => _file is not null;

    /// <summary>An image held in memory (small images, and tests).</summary>
    public static GeneratedImage FromBytes(byte[] bytes, string mimeType)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentNullException.ThrowIfNull(mimeType);
        return new GeneratedImage(mimeType, bytes.Length, bytes, null);
    }

    /// <summary>An image held in a temporary file, which the image now owns (it closes, and so deletes, the file).</summary>
    internal static GeneratedImage FromFile(SafeFileHandle file, long length, string mimeType) =>
        new(mimeType, length, null, file);

    /// <summary>A new read-only, seekable stream over the whole image, positioned at its start.</summary>
    /// <exception cref="ObjectDisposedException">The image was disposed.</exception>
    public Stream OpenRead()
    {
        if (_file is { } file)
        {
            ObjectDisposedException.ThrowIf(file.IsClosed, this);
            return new FileRegionStream(file, Length);
        }

        return new MemoryStream(_bytes!, writable: false);
    }

    /// <summary>Deletes the temporary file, if any. Idempotent.</summary>
    public void Dispose() => _file?.Dispose();

    /// <summary>Reads a file through its handle with positional reads, so several readers never share a file position.</summary>
    private sealed class FileRegionStream(SafeFileHandle file, long length) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position
        {
            get => _position;
            set
            {
                ArgumentOutOfRangeException.ThrowIfNegative(value);
                _position = value;
            }
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var wanted = (int)Math.Min(buffer.Length, Math.Max(0, length - _position));
            if (wanted == 0)
            {
                return 0;
            }

            var read = RandomAccess.Read(file, buffer[..wanted], _position);
            _position += read;
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var wanted = (int)Math.Min(buffer.Length, Math.Max(0, length - _position));
            if (wanted == 0)
            {
                return 0;
            }

            var read = await RandomAccess.ReadAsync(file, buffer[..wanted], _position, cancellationToken).ConfigureAwait(false);
            _position += read;
            return read;
        }

        public override long Seek(long offset, SeekOrigin origin)
        {
            Position = origin switch
            {
                SeekOrigin.Begin => offset,
                SeekOrigin.Current => _position + offset,
                SeekOrigin.End => length + offset,
                _ => throw new ArgumentOutOfRangeException(nameof(origin)),
            };
            return _position;
        }

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
