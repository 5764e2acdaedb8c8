using System.Buffers.Binary;
using System.IO.Compression;

namespace GenerationWorker.GeminiEmulator;

/// <summary>Writes 8-bit RGB PNG files (signature, IHDR, IDAT chunks, IEND).</summary>
internal static class PngEncoder
{
    /// <summary>The rows of the band <see cref="EncodeBanded"/> repeats.</summary>
    public const int BandRows = 32;

    private const uint AdlerBase = 65521;

    private static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    // A zlib header for "fastest" deflate, and the final empty fixed-Huffman block that ends the stream.
    private static readonly byte[] ZlibHeader = [0x78, 0x01];
    private static readonly byte[] FinalBlock = [0x03, 0x00];

    /// <summary>Encodes an image made of one band of <see cref="BandRows"/> rows repeated from top to bottom (the last
    /// repetition cut short), compressing the band once.</summary>
    /// <remarks>
    /// The band is deflated from a fresh state and ended with a sync flush, so its compressed bytes refer to nothing
    /// before them and end on a byte boundary: copies of them, one IDAT chunk each (same CRC), decode to the band
    /// repeated. The zlib stream's Adler-32 is combined from the band's. Cost: one band's encode plus copying.
    /// </remarks>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="fillBandRow">Fills one row of the band (index 0 to <see cref="BandRows"/> - 1).</param>
    public static byte[] EncodeBanded(int width, int height, RowFiller fillBandRow)
    {
        var bandRows = Math.Min(BandRows, height);
        var stride = 1 + width * 3;
        var raw = new byte[bandRows * stride];
        for (var y = 0; y < bandRows; y++)
        {
            fillBandRow(y, raw.AsSpan(y * stride + 1, width * 3)); // filter byte 0: None
        }

        var copies = height / bandRows;
        var restRows = height % bandRows;
        var band = DeflateFlushed(raw);
        var rest = restRows == 0 ? [] : DeflateFlushed(raw.AsSpan(0, restRows * stride));
        var bandAdler = Adler32(raw);
        var adler = 1u;
        for (var i = 0; i < copies; i++)
        {
            adler = CombineAdler32(adler, bandAdler, raw.Length);
        }

        if (restRows > 0)
        {
            adler = CombineAdler32(adler, Adler32(raw.AsSpan(0, restRows * stride)), restRows * stride);
        }

        Span<byte> trailer = stackalloc byte[FinalBlock.Length + 4];
        FinalBlock.CopyTo(trailer);
        BinaryPrimitives.WriteUInt32BigEndian(trailer[FinalBlock.Length..], adler);

        var chunkCount = 4 + copies + (restRows > 0 ? 1 : 0); // IHDR, header IDAT, band IDATs, rest, trailer IDAT
        var length = Signature.Length + 12 * chunkCount + 13 + ZlibHeader.Length + band.Length * copies + rest.Length + trailer.Length;
        using var output = new MemoryStream(capacity: length);
        output.Write(Signature);
        WriteHeader(output, width, height);
        WriteChunk(output, "IDAT"u8, ZlibHeader);
        var bandCrc = Crc32.Finish(Crc32.Append(Crc32.Append(Crc32.Initial, "IDAT"u8), band));
        for (var i = 0; i < copies; i++)
        {
            WriteChunk(output, "IDAT"u8, band, bandCrc);
        }

        if (rest.Length > 0)
        {
            WriteChunk(output, "IDAT"u8, rest);
        }

        WriteChunk(output, "IDAT"u8, trailer);
        WriteChunk(output, "IEND"u8, []);
        return output.ToArray();
    }

    /// <summary>Encodes an image whose rows are produced by <paramref name="fillRow"/>.</summary>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="fillRow">Fills one row of <c>width * 3</c> RGB bytes for the given row index.</param>
    public static byte[] Encode(int width, int height, RowFiller fillRow)
    {
        using var output = new MemoryStream(capacity: 64 + width * height);
        output.Write(Signature);

        WriteHeader(output, width, height);
        WriteChunk(output, "IDAT"u8, Compress(width, height, fillRow));
        WriteChunk(output, "IEND"u8, []);
        return output.ToArray();
    }

    private static void WriteHeader(Stream output, int width, int height)
    {
        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], height);
        header[8] = 8; // bit depth
        header[9] = 2; // colour type: truecolour
        header[10] = 0; // deflate
        header[11] = 0; // adaptive filtering
        header[12] = 0; // no interlace
        WriteChunk(output, "IHDR"u8, header);
    }

    private static byte[] DeflateFlushed(ReadOnlySpan<byte> data)
    {
        using var compressed = new MemoryStream();
        using var deflate = new DeflateStream(compressed, CompressionLevel.Fastest, leaveOpen: true);
        deflate.Write(data);
        deflate.Flush(); // a sync flush: every byte out, blocks not final, byte-aligned
        return compressed.ToArray();
    }

    private static uint Adler32(ReadOnlySpan<byte> data)
    {
        uint a = 1, b = 0;
        while (data.Length > 0)
        {
            var block = data[..Math.Min(data.Length, 5552)]; // the most bytes before b can overflow
            foreach (var value in block)
            {
                a += value;
                b += a;
            }

            a %= AdlerBase;
            b %= AdlerBase;
            data = data[block.Length..];
        }

        return (b << 16) | a;
    }

    /// <summary>The Adler-32 of A followed by B, from both checksums and B's length (zlib's adler32_combine).</summary>
    private static uint CombineAdler32(uint adlerA, uint adlerB, long lengthB)
    {
        var remainder = (ulong)(lengthB % AdlerBase);
        ulong sum1 = adlerA & 0xFFFF;
        var sum2 = remainder * sum1 % AdlerBase;
        sum1 += (adlerB & 0xFFFF) + AdlerBase - 1;
        sum2 += (adlerA >> 16) + (adlerB >> 16) + AdlerBase - remainder;
        sum1 %= AdlerBase;
        sum2 %= AdlerBase;
        return (uint)((sum2 << 16) | sum1);
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

    private static void WriteChunk(Stream output, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data) =>
        WriteChunk(output, type, data, Crc32.Finish(Crc32.Append(Crc32.Append(Crc32.Initial, type), data)));

    private static void WriteChunk(Stream output, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data, uint crc)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        output.Write(word);
        output.Write(type);
        output.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(word, crc);
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
