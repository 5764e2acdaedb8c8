using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace GenerationWorker.GeminiEmulator.Tests;

/// <summary>An independent PNG reader that checks what a decoder would: signature, chunk CRCs, IHDR, IDAT size.</summary>
internal static class Png
{
    public static (int Width, int Height) Check(byte[] png)
    {
        Assert.Equal([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], png[..8]);
        var offset = 8;
        var chunks = new List<string>();
        int width = 0, height = 0;
        using var idat = new MemoryStream();
        while (offset < png.Length)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(offset));
            var type = Encoding.ASCII.GetString(png, offset + 4, 4);
            var data = png.AsSpan(offset + 8, length);
            var crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(offset + 8 + length));
            Assert.Equal(BitwiseCrc(png.AsSpan(offset + 4, 4 + length)), crc);
            chunks.Add(type);
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                Assert.Equal([8, 2, 0, 0, 0], data[8..13].ToArray());
            }
            else if (type == "IDAT")
            {
                idat.Write(data);
            }

            offset += 12 + length;
        }

        Assert.Equal("IHDR", chunks[0]);
        Assert.Equal("IEND", chunks[^1]);
        Assert.Equal(png.Length, offset);

        idat.Position = 0;
        using var inflated = new MemoryStream();
        using (var zlib = new ZLibStream(idat, CompressionMode.Decompress))
        {
            zlib.CopyTo(inflated);
        }

        var stride = 1 + width * 3;
        Assert.Equal((long)height * stride, inflated.Length);
        var raw = inflated.GetBuffer();
        for (var y = 0; y < height; y++)
        {
            Assert.True(raw[y * stride] <= 4, "row filter type must be 0..4");
        }

        return (width, height);
    }

    /// <summary>CRC-32 computed bit by bit (no table), to check the encoder's table-driven one.</summary>
    private static uint BitwiseCrc(ReadOnlySpan<byte> bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var i = 0; i < 8; i++)
            {
                crc = (crc >> 1) ^ (0xEDB88320u & (uint)-(int)(crc & 1));
            }
        }

        return ~crc;
    }
}
