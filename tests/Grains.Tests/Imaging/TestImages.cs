using NetVips;

namespace GenerationWorker.Grains.Tests.Imaging;

/// <summary>Images made with libvips for the encoder's tests: noise over a gradient, so no encoder can cheat on flat colour.</summary>
internal static class TestImages
{
    /// <summary>An RGB image of <paramref name="width"/> x <paramref name="height"/>.</summary>
    public static Image Make(int width, int height)
    {
        using var noise = Image.Gaussnoise(width, height, mean: 128, sigma: 30);
        using var gradient = Image.Xyz(width, height)[0];
        using var mixed = (noise + (gradient * (100.0 / width))).Cast(Enums.BandFormat.Uchar);
        using var mirrored = mixed.Flip(Enums.Direction.Horizontal);
        using var upsideDown = mixed.Flip(Enums.Direction.Vertical);
        return mixed.Bandjoin(mirrored, upsideDown);
    }

    /// <summary>The image encoded as <paramref name="suffix"/> (".png", ".jpg", ".webp", ".gif").</summary>
    public static byte[] Encode(int width, int height, string suffix)
    {
        using var image = Make(width, height);
        return image.WriteToBuffer(suffix);
    }

    /// <summary>The pixel size of encoded bytes, as libvips reads them.</summary>
    public static (int Width, int Height) SizeOf(Stream stream)
    {
        using var image = Image.NewFromStream(stream, failOn: Enums.FailOn.Error);
        // Decodes every pixel: a truncated or corrupt file fails here.
        _ = image.Avg();
        return (image.Width, image.Height);
    }

    /// <summary>All the bytes of <paramref name="stream"/>.</summary>
    public static byte[] ReadAll(Stream stream)
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
