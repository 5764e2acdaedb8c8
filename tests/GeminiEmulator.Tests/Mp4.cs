using System.Buffers.Binary;
using System.Text;

namespace GenerationWorker.GeminiEmulator.Tests;

/// <summary>An independent ISO-BMFF reader: walks the boxes as a demuxer would and reads the movie header.</summary>
internal static class Mp4
{
    public sealed record Box(string Type, int Offset, int Size);

    /// <summary>The boxes directly inside <paramref name="data"/>[start..end); fails on sizes that do not tile the range.</summary>
    public static List<Box> Boxes(byte[] data, int start, int end)
    {
        var boxes = new List<Box>();
        var offset = start;
        while (offset < end)
        {
            Assert.True(end - offset >= 8, "a box header needs 8 bytes");
            var size = (int)BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(offset));
            Assert.InRange(size, 8, end - offset);
            boxes.Add(new Box(Encoding.ASCII.GetString(data, offset + 4, 4), offset, size));
            offset += size;
        }

        Assert.Equal(end, offset);
        return boxes;
    }

    /// <summary>Checks ftyp, moov (with mvhd) and mdat, and returns the movie's duration in seconds.</summary>
    public static double CheckAndReadDuration(byte[] file)
    {
        var top = Boxes(file, 0, file.Length);
        Assert.Equal(["ftyp", "moov", "mdat"], top.Select(b => b.Type));
        Assert.Equal("isom", Encoding.ASCII.GetString(file, 8, 4));
        var moov = top[1];
        var mvhd = Boxes(file, moov.Offset + 8, moov.Offset + moov.Size).Single(b => b.Type == "mvhd");
        var body = file.AsSpan(mvhd.Offset + 8);
        Assert.Equal(0, body[0]); // version 0: 32-bit times
        var timeScale = BinaryPrimitives.ReadUInt32BigEndian(body[12..]);
        var duration = BinaryPrimitives.ReadUInt32BigEndian(body[16..]);
        Assert.True(timeScale > 0);
        Assert.Equal(0x00010000u, BinaryPrimitives.ReadUInt32BigEndian(body[20..])); // rate 1.0
        Assert.True(top[2].Size > 8, "mdat must hold media bytes");
        return (double)duration / timeScale;
    }
}
