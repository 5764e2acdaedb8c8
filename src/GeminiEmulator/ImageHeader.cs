using System.Buffers.Binary;

namespace GenerationWorker.GeminiEmulator;

/// <summary>Reads the pixel size of an input image from its header (PNG, JPEG, WebP, HEIC/HEIF), without decoding it.</summary>
internal static class ImageHeader
{
    /// <summary>The width and height recorded in the image's header.</summary>
    /// <returns>False when the header is truncated, of an unknown layout, or records a zero size.</returns>
    public static bool TryReadSize(ReadOnlySpan<byte> data, out int width, out int height)
    {
        (width, height) = (0, 0);
        if (data.StartsWith((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47]))
        {
            // Signature (8), IHDR length and type (8), then width and height, big-endian.
            if (data.Length >= 24 && data[12..16].SequenceEqual("IHDR"u8))
            {
                (width, height) = (BinaryPrimitives.ReadInt32BigEndian(data[16..]), BinaryPrimitives.ReadInt32BigEndian(data[20..]));
            }
        }
        else if (data.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8]))
        {
            (width, height) = Jpeg(data);
        }
        else if (data.Length >= 30 && data.StartsWith("RIFF"u8) && data[8..12].SequenceEqual("WEBP"u8))
        {
            (width, height) = WebP(data);
        }
        else if (data.Length >= 12 && data[4..8].SequenceEqual("ftyp"u8))
        {
            (width, height) = Heif(data);
        }

        return width > 0 && height > 0;
    }

    private static (int, int) Jpeg(ReadOnlySpan<byte> data)
    {
        var i = 2;
        while (i + 4 <= data.Length)
        {
            if (data[i] != 0xFF)
            {
                return (0, 0);
            }

            var marker = data[i + 1];
            if (marker == 0xFF)
            {
                i++; // fill byte
                continue;
            }

            if (marker is 0x01 or (>= 0xD0 and <= 0xD7))
            {
                i += 2; // a marker without a length
                continue;
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(data[(i + 2)..]);

            // Start of frame: SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
            if (marker is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC)
            {
                return i + 9 <= data.Length
                    ? (BinaryPrimitives.ReadUInt16BigEndian(data[(i + 7)..]), BinaryPrimitives.ReadUInt16BigEndian(data[(i + 5)..]))
                    : (0, 0);
            }

            if (marker == 0xDA)
            {
                return (0, 0); // start of scan before any frame header
            }

            i += 2 + length;
        }

        return (0, 0);
    }

    private static (int, int) WebP(ReadOnlySpan<byte> data)
    {
        var chunk = data[12..16];
        if (chunk.SequenceEqual("VP8X"u8))
        {
            // Canvas width-1 and height-1, 24-bit little-endian, after 4 bytes of flags.
            return (1 + (data[24] | (data[25] << 8) | (data[26] << 16)), 1 + (data[27] | (data[28] << 8) | (data[29] << 16)));
        }

        if (chunk.SequenceEqual("VP8L"u8) && data[20] == 0x2F)
        {
            var bits = BinaryPrimitives.ReadUInt32LittleEndian(data[21..]);
            return ((int)(bits & 0x3FFF) + 1, (int)((bits >> 14) & 0x3FFF) + 1);
        }

        if (chunk.SequenceEqual("VP8 "u8) && data[23] == 0x9D && data[24] == 0x01 && data[25] == 0x2A)
        {
            return (BinaryPrimitives.ReadUInt16LittleEndian(data[26..]) & 0x3FFF, BinaryPrimitives.ReadUInt16LittleEndian(data[28..]) & 0x3FFF);
        }

        return (0, 0);
    }

    private static (int, int) Heif(ReadOnlySpan<byte> data)
    {
        // The first image spatial extent property: 'ispe', version and flags (4), width, height (big-endian).
        var at = data[..Math.Min(data.Length, 1 << 16)].IndexOf("ispe"u8);
        return at >= 0 && at + 16 <= data.Length
            ? (BinaryPrimitives.ReadInt32BigEndian(data[(at + 8)..]), BinaryPrimitives.ReadInt32BigEndian(data[(at + 12)..]))
            : (0, 0);
    }
}
