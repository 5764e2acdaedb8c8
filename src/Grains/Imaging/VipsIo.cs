using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;
using NetVips;

namespace GenerationWorker.Grains.Imaging;

/// <summary>
/// The callbacks through which libvips reads a source stream and writes a temporary file. They run inside native
/// calls, where an exception would end the process: each catches its failure, keeps it in <see cref="Failure"/> and
/// answers libvips with an error, which then fails the call with a <see cref="VipsException"/>.
/// </summary>
internal sealed class VipsIo
{
    /// <summary>The first read or write failure, if any: the cause of the libvips error that followed.</summary>
    public Exception? Failure { get; private set; }

    /// <summary>A libvips source reading <paramref name="stream"/> (seekable) from its start.</summary>
    public SourceCustom Source(Stream stream)
    {
        var source = new SourceCustom();
        source.OnRead += (buffer, length) =>
        {
            try
            {
                return stream.Read(buffer, 0, length);
            }
            catch (Exception exception) when (exception is IOException or ObjectDisposedException)
            {
                Failure ??= exception;
                return -1;
            }
        };
        source.OnSeek += (offset, origin) =>
        {
            try
            {
                return stream.Seek(offset, origin);
            }
            catch (Exception exception) when (exception is IOException or ObjectDisposedException or ArgumentException)
            {
                Failure ??= exception;
                return -1;
            }
        };
        return source;
    }

    /// <summary>A libvips target appending to <paramref name="file"/>; <paramref name="written"/> counts the bytes.</summary>
    public TargetCustom Target(SafeFileHandle file, StrongBox<long> written)
    {
        var target = new TargetCustom();
        target.OnWrite += (buffer, length) =>
        {
            try
            {
                RandomAccess.Write(file, buffer.AsSpan(0, length), written.Value);
                written.Value += length;
                return length;
            }
            catch (Exception exception) when (exception is IOException or ObjectDisposedException or UnauthorizedAccessException)
            {
                Failure ??= exception;
                return -1;
            }
        };
        return target;
    }
}
