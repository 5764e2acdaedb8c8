using System.Buffers;
using Microsoft.Win32.SafeHandles;

namespace GenerationWorker.Grains.Gemini;

/// <summary>
/// Collects the decoded bytes of one image as they arrive: in a pooled buffer up to <see cref="MemoryLimitBytes"/>,
/// then in a temporary file (<see cref="FileOptions.DeleteOnClose"/>) under the directory it was given.
/// </summary>
/// <remarks>
/// Writes to the file are synchronous: they land in the page cache, and the response reader calls them between reads
/// of the network stream. <see cref="Complete"/> hands the bytes over as a <see cref="GeneratedImage"/>; until then,
/// <see cref="Dispose"/> drops them (and deletes the file).
/// </remarks>
internal sealed class ImageSpool(string directory) : IDisposable
{
    /// <summary>Images up to this size (1 MiB) stay in memory; larger ones go to a temporary file.</summary>
    public const int MemoryLimitBytes = 1 << 20;

    private const int FirstBufferBytes = 64 * 1024;

    private byte[]? _memory;
    private SafeFileHandle? _file;
    private bool _handedOver;

    /// <summary>The number of bytes written so far.</summary>
    public long Length { get; private set; }

    /// <summary>Appends <paramref name="bytes"/>.</summary>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        ObjectDisposedException.ThrowIf(_handedOver, this);
        if (bytes.IsEmpty)
        {
            return;
        }

        if (_file is null && Length + bytes.Length <= MemoryLimitBytes)
        {
            EnsureMemory((int)Length + bytes.Length);
            bytes.CopyTo(_memory.AsSpan((int)Length));
        }
        else
        {
            if (_file is null)
            {
                SpillToFile();
            }

            RandomAccess.Write(_file!, bytes, Length);
        }

        Length += bytes.Length;
    }

    /// <summary>Hands the bytes written over to a new <see cref="GeneratedImage"/>; the spool no longer owns them.</summary>
    public GeneratedImage Complete(string mimeType)
    {
        ObjectDisposedException.ThrowIf(_handedOver, this);
        _handedOver = true;
        if (_file is { } file)
        {
            _file = null;
            return GeneratedImage.FromFile(file, Length, mimeType);
        }

        var bytes = _memory is null ? [] : _memory.AsSpan(0, (int)Length).ToArray();
        ReturnMemory();
        return GeneratedImage.FromBytes(bytes, mimeType);
    }

    /// <summary>Drops the bytes (deleting the temporary file) unless they were handed over. Idempotent.</summary>
    public void Dispose()
    {
        _handedOver = true;
        ReturnMemory();
        _file?.Dispose();
        _file = null;
    }

    private void EnsureMemory(int needed)
    {
        if (_memory is not null && _memory.Length >= needed)
        {
            return;
        }

        var size = Math.Max(FirstBufferBytes, _memory?.Length * 2 ?? 0);
        while (size < needed)
        {
            size *= 2;
        }

        var larger = ArrayPool<byte>.Shared.Rent(Math.Min(size, MemoryLimitBytes));
        _memory?.AsSpan(0, (int)Length).CopyTo(larger);
        ReturnMemory();
        _memory = larger;
    }

    private void SpillToFile()
    {
        var path = Path.Combine(directory, $"gemini-image-{Guid.NewGuid():N}.tmp");
        _file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, FileOptions.DeleteOnClose);
        if (Length > 0)
        {
            RandomAccess.Write(_file, _memory.AsSpan(0, (int)Length), 0);
        }

        ReturnMemory();
    }

    private void ReturnMemory()
    {
        if (_memory is not null)
        {
            ArrayPool<byte>.Shared.Return(_memory);
            _memory = null;
        }
    }
}
