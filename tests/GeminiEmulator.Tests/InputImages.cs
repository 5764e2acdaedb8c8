using System.Buffers.Binary;

namespace GenerationWorker.GeminiEmulator.Tests;

/// <summary>The headers of input images of a chosen pixel size: all the emulator reads of them.</summary>
internal static class InputImages
{
    /// <summary>A PNG signature and IHDR chunk.</summary>
    public static byte[] Png(int width, int height)
    {
        var png = new byte[33];
        new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, (byte)'I', (byte)'H', (byte)'D', (byte)'R' }.CopyTo(png, 0);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), width);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), height);
        png[24] = 8;
        png[25] = 2;
        return png;
    }

    /// <summary>A JPEG start, a JFIF APP0 segment, an EXIF-sized APP1 segment, then the SOF0 frame header.</summary>
    public static byte[] Jpeg(int width, int height)
    {
        var app1 = new byte[2 + 2 + 3000];
        app1[0] = 0xFF;
        app1[1] = 0xE1;
        BinaryPrimitives.WriteUInt16BigEndian(app1.AsSpan(2), 2 + 3000);
        byte[] start = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, (byte)'J', (byte)'F', (byte)'I', (byte)'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0];
        byte[] frame = [0xFF, 0xC0, 0x00, 0x11, 8, 0, 0, 0, 0, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9];
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(5), (ushort)height);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(7), (ushort)width);
        return [.. start, .. app1, .. frame];
    }

    /// <summary>An extended-format WebP header (RIFF, WEBP, VP8X with the canvas size).</summary>
    public static byte[] WebP(int width, int height)
    {
        var webp = new byte[30];
        "RIFF"u8.CopyTo(webp);
        BinaryPrimitives.WriteInt32LittleEndian(webp.AsSpan(4), 22);
        "WEBPVP8X"u8.CopyTo(webp.AsSpan(8));
        BinaryPrimitives.WriteInt32LittleEndian(webp.AsSpan(16), 10);
        WriteUInt24(webp.AsSpan(24), width - 1);
        WriteUInt24(webp.AsSpan(27), height - 1);
        return webp;
    }

    private static void WriteUInt24(Span<byte> span, int value)
    {
        span[0] = (byte)value;
        span[1] = (byte)(value >> 8);
        span[2] = (byte)(value >> 16);
    }
}
