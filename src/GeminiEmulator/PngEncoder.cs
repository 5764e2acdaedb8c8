using System.Buffers.Binary;
using System.IO.Compression;

namespace GenerationWorker.GeminiEmulator;

/// <summary>Writes 8-bit RGB PNG files (signature, IHDR, one IDAT, IEND).</summary>
internal static class PngEncoder
{
    private static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Encodes an image whose rows are produced by <paramref name="fillRow"/>.</summary>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="fillRow">Fills one row of <c>width * 3</c> RGB bytes for the given row index.</param>
    public static byte[] Encode(int width, int height, RowFiller fillRow)
    {
        using var output = new MemoryStream(capacity: 64 + width * height);
        output.Write(Signature);

        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], height);
        header[8] = 8; // bit depth
        header[9] = 2; // colour type: truecolour
        header[10] = 0; // deflate
        header[11] = 0; // adaptive filtering
        header[12] = 0; // no interlace
        WriteChunk(output, "IHDR"u8, header);

        WriteChunk(output, "IDAT"u8, Compress(width, height, fillRow));
        WriteChunk(output, "IEND"u8, []);
        return output.ToArray();
    }

    private static ReadOnlySpan<byte> Compress(int width, int height, RowFiller fillRow)
    {
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            var row = new byte[1 + width * 3];
            for (var y = 0; y < height; y++)
            {
                row[0] = 0; // filter type None
                fillRow(y, row.AsSpan(1));
                zlib.Write(row);
            }
        }

        return compressed.GetBuffer().AsSpan(0, (int)compressed.Length);
    }

    private static void WriteChunk(Stream output, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        output.Write(word);
        output.Write(type);
        output.Write(data);
        var crc = Crc32.Append(Crc32.Append(Crc32.Initial, type), data);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32.Finish(crc));
        output.Write(word);
    }
}

/// <summary>Fills one row of RGB pixels.</summary>
/// <param name="y">The row index, from the top.</param>
/// <param name="rgb">The row's bytes, three per pixel.</param>
internal delegate void RowFiller(int y, Span<byte> rgb);

/// <summary>The CRC-32 of ISO 3309 / PNG (polynomial 0xEDB88320, reflected).</summary>
internal static class Crc32
{
    /// <summary>The register value before any byte is added.</summary>
    public const uint Initial = 0xFFFFFFFFu;

    private static readonly uint[] Table = BuildTable();

    /// <summary>Adds <paramref name="data"/> to a running register.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (var b in data)
        {
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return crc;
    }

    /// <summary>The final CRC of a running register.</summary>
    public static uint Finish(uint crc) => crc ^ 0xFFFFFFFFu;

    /// <summary>The CRC of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Append(Initial, data));

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }
}
