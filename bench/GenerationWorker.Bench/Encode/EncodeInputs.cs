using NetVips;

namespace GenerationWorker.Bench.Encode;

/// <summary>
/// The 4K PNGs the encode figure reads: 4096x4096 (Gemini's 4K square) and 5504x3072 (its 4K 16:9), made once per
/// results folder. Photographic-like content: smooth gradients and waves under a fine grain, which compresses about as
/// a photograph does (~1 byte per pixel in PNG; the emulator's 4K PNGs are 16-20 MB), unlike a flat colour.
/// </summary>
internal static class EncodeInputs
{
    /// <summary>Makes the images that are missing in <paramref name="directory"/>; returns their paths.</summary>
    public static IReadOnlyList<string> Ensure(string directory)
    {
        Directory.CreateDirectory(directory);
        var paths = new List<string>();
        foreach (var (width, height) in new[] { (4096, 4096), (5504, 3072) })
        {
            var path = Path.Combine(directory, $"photo-{width}x{height}.png");
            if (!File.Exists(path))
            {
                using var image = Image.NewFromMemory(Pixels(width, height), width, height, 3, Enums.BandFormat.Uchar);
                image.Pngsave(path + ".tmp.png");
                File.Move(path + ".tmp.png", path);
            }

            paths.Add(path);
        }

        return paths;
    }

    /// <summary>RGB bytes: a deterministic mix of gradients and waves, plus grain of a few levels.</summary>
    public static byte[] Pixels(int width, int height)
    {
        var pixels = new byte[width * height * 3];
        var state = 0x9E3779B97F4A7C15UL;
        Parallel.For(0, height, y =>
        {
            var random = state ^ (ulong)(y + 1) * 0xBF58476D1CE4E5B9UL;
            for (var x = 0; x < width; x++)
            {
                var u = (double)x / width;
                var v = (double)y / height;
                var wave = Math.Sin(x / 97.0 + Math.Sin(y / 213.0) * 3) * Math.Cos(y / 151.0);
                var index = ((y * width) + x) * 3;
                for (var c = 0; c < 3; c++)
                {
                    random ^= random << 13;
                    random ^= random >> 7;
                    random ^= random << 17;
                    var grain = (int)(random % 3) - 1;
                    var value = 40 + (120 * (c == 0 ? u : c == 1 ? v : 1 - u * v)) + (60 * wave * (c + 1) / 3) + grain;
                    pixels[index + c] = (byte)Math.Clamp(value, 0, 255);
                }
            }
        });
        return pixels;
    }
}
