using System.Buffers.Binary;

namespace GenerationWorker.GeminiEmulator;

/// <summary>
/// Writes the emulator's "videos": ISO-BMFF files of three top-level boxes, <c>ftyp</c> (brand isom), <c>moov</c>
/// holding an <c>mvhd</c> whose duration is the requested one, and an <c>mdat</c> of deterministic bytes. A parser that
/// walks the box structure accepts them; they hold no playable track.
/// </summary>
internal static class Mp4Writer
{
    /// <summary>The <c>mvhd</c> time scale: units per second.</summary>
    public const int TimeScale = 1000;

    private const int FtypSize = 8 + 8 + 4 * 4;
    private const int MvhdSize = 8 + 100;
    private const int MoovSize = 8 + MvhdSize;

    /// <summary>The file for one sample.</summary>
    /// <param name="seed">Picks the <c>mdat</c> bytes (a hash of the prompt and the sample index).</param>
    /// <param name="durationSeconds">The duration written in <c>mvhd</c>.</param>
    /// <param name="mediaBytes">The size of the <c>mdat</c> payload.</param>
    public static byte[] Write(ulong seed, int durationSeconds, int mediaBytes)
    {
        var file = new byte[FtypSize + MoovSize + 8 + mediaBytes];
        var span = file.AsSpan();

        BoxHeader(span, FtypSize, "ftyp"u8);
        "isom"u8.CopyTo(span[8..]); // major brand
        BinaryPrimitives.WriteUInt32BigEndian(span[12..], 0x200); // minor version
        "isomiso2avc1mp41"u8.CopyTo(span[16..]); // compatible brands

        var moov = span[FtypSize..];
        BoxHeader(moov, MoovSize, "moov"u8);
        var mvhd = moov[8..];
        BoxHeader(mvhd, MvhdSize, "mvhd"u8);
        var body = mvhd[8..]; // version 0 and flags 0, creation and modification times 0
        BinaryPrimitives.WriteUInt32BigEndian(body[12..], TimeScale);
        BinaryPrimitives.WriteUInt32BigEndian(body[16..], (uint)(durationSeconds * TimeScale));
        BinaryPrimitives.WriteUInt32BigEndian(body[20..], 0x00010000); // rate 1.0
        BinaryPrimitives.WriteUInt16BigEndian(body[24..], 0x0100); // volume 1.0
        var matrix = body[36..]; // after 10 reserved bytes: the unity matrix
        BinaryPrimitives.WriteUInt32BigEndian(matrix, 0x00010000);
        BinaryPrimitives.WriteUInt32BigEndian(matrix[16..], 0x00010000);
        BinaryPrimitives.WriteUInt32BigEndian(matrix[32..], 0x40000000);
        BinaryPrimitives.WriteUInt32BigEndian(body[96..], 1); // next track id

        var mdat = span[(FtypSize + MoovSize)..];
        BoxHeader(mdat, 8 + mediaBytes, "mdat"u8);
        var state = seed;
        var media = mdat[8..];
        Span<byte> word = stackalloc byte[8];
        for (var i = 0; i < media.Length; i += 8)
        {
            state = ImageRenderer.SplitMix(state);
            BinaryPrimitives.WriteUInt64LittleEndian(word, state);
            word[..Math.Min(8, media.Length - i)].CopyTo(media[i..]);
        }

        return file;
    }

    private static void BoxHeader(Span<byte> box, int size, ReadOnlySpan<byte> type)
    {
        BinaryPrimitives.WriteUInt32BigEndian(box, (uint)size);
        type.CopyTo(box[4..]);
    }
}
