using System.Collections.Concurrent;

namespace GenerationWorker.GeminiEmulator;

/// <summary>
/// Draws the emulator's images: a PNG of the requested ratio (exactly the ratio at the configured small size, or the
/// model's published pixel size with real sizes), whose colours come from a hash of the prompt, so the same prompt,
/// model, ratio and size always give the same bytes.
/// </summary>
/// <remarks>
/// The prompt hash picks one of <see cref="Variants"/> palettes, which bounds how many distinct images exist and lets
/// encoded PNGs be cached; the cache is dropped whole when it grows past <see cref="EmulatorOptions.ImageCacheBytes"/>.
/// The picture is a band of <see cref="PngEncoder.BandRows"/> grainy rows repeated down the image, compressed once and
/// copied, so a 4K PNG weighs what a real one does (the grain defeats compression) yet costs milliseconds.
/// </remarks>
internal sealed class ImageRenderer(EmulatorOptions options)
{
    /// <summary>How many different images one ratio and size can produce.</summary>
    public const int Variants = 256;

    private readonly ConcurrentDictionary<ImageKey, byte[]> _cache = new();
    private long _cachedBytes;

    /// <summary>The PNG for a prompt hash and a pixel size.</summary>
    /// <param name="promptHash">A stable hash of the prompt.</param>
    /// <param name="width">Width in pixels (see <see cref="Size"/>).</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="thought">True for the interim "thought" image (different colours).</param>
    public byte[] Render(ulong promptHash, int width, int height, bool thought)
    {
        var key = new ImageKey((int)(promptHash % Variants), width, height, thought);
        if (_cache.TryGetValue(key, out var cached))
        {
            return cached;
        }

        var png = Draw(key);
        if (Interlocked.Add(ref _cachedBytes, png.Length) > options.ImageCacheBytes)
        {
            _cache.Clear();
            Interlocked.Exchange(ref _cachedBytes, png.Length);
        }

        return _cache.GetOrAdd(key, png);
    }

    /// <summary>The pixel size of an answer: the model's published size with <see cref="EmulatorOptions.RealImageSizes"/>,
    /// else exactly <paramref name="aspectRatio"/> with the configured longest side.</summary>
    /// <param name="model">The answering model.</param>
    /// <param name="aspectRatio">A ratio the model supports.</param>
    /// <param name="imageSize">The size it renders ("512", "1K", "2K" or "4K").</param>
    public (int Width, int Height) Size(EmulatedModel model, string aspectRatio, string imageSize) =>
        options.RealImageSizes ? model.RealSize(aspectRatio, imageSize) : Dimensions(aspectRatio, options.ImageLongSide);

    /// <summary>The largest width and height with exactly the ratio <c>a:b</c> whose longer side fits <paramref name="longSide"/>.</summary>
    public static (int Width, int Height) Dimensions(string aspectRatio, int longSide)
    {
        var colon = aspectRatio.IndexOf(':', StringComparison.Ordinal);
        var a = int.Parse(aspectRatio.AsSpan(0, colon), provider: null);
        var b = int.Parse(aspectRatio.AsSpan(colon + 1), provider: null);
        var scale = Math.Max(1, longSide / Math.Max(a, b));
        return (a * scale, b * scale);
    }

    private static byte[] Draw(ImageKey key)
    {
        var mixed = SplitMix(((ulong)key.Variant << 1) | (key.Thought ? 1UL : 0UL));
        var (r0, g0, b0) = ((byte)mixed, (byte)(mixed >> 8), (byte)(mixed >> 16));
        var (r1, g1, b1) = ((byte)(mixed >> 24), (byte)(mixed >> 32), (byte)(mixed >> 40));
        var width = key.Width;
        return PngEncoder.EncodeBanded(width, key.Height, (y, rgb) =>
        {
            // A horizontal gradient between the two colours plus a little deterministic grain, so the PNG compresses
            // about as well as a real picture rather than to almost nothing.
            var noise = (uint)SplitMix(mixed ^ (ulong)y) | 1;
            var shade = y * 2;
            for (var x = 0; x < width; x++)
            {
                noise ^= noise << 13;
                noise ^= noise >> 17;
                noise ^= noise << 5;
                var t = Math.Clamp(x * 255 / Math.Max(1, width - 1) + shade - PngEncoder.BandRows, 0, 255);
                var grain = (int)(noise & 0x03) - 1;
                var i = x * 3;
                rgb[i] = Mix(r0, r1, t, grain);
                rgb[i + 1] = Mix(g0, g1, t, grain);
                rgb[i + 2] = Mix(b0, b1, t, grain);
            }
        });
    }

    private static byte Mix(byte from, byte to, int t, int grain) =>
        (byte)Math.Clamp(from + (to - from) * t / 255 + grain, 0, 255);

    /// <summary>A 64-bit mixing function (SplitMix64's finaliser).</summary>
    public static ulong SplitMix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>FNV-1a over the UTF-16 code units of <paramref name="text"/>: stable across processes.</summary>
    public static ulong StableHash(string text)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return hash;
    }

    private readonly record struct ImageKey(int Variant, int Width, int Height, bool Thought);
}
