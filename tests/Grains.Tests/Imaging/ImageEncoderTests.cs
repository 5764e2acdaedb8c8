using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Imaging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GenerationWorker.Grains.Tests.Imaging;

public sealed class ImageEncoderTests : IDisposable
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private readonly string _spool = Directory.CreateTempSubdirectory("encoder-tests-").FullName;
    private readonly ImageEncoder _encoder;

    public ImageEncoderTests()
    {
        _encoder = NewEncoder(4);
    }

    public void Dispose()
    {
        _encoder.Dispose();
        Directory.Delete(_spool, recursive: true);
    }

    [Fact]
    public async Task Png_WithoutResize_KeepsTheOriginalBytes_AndAddsARealWebpOfTheSameSize()
    {
        var png = TestImages.Encode(640, 480, ".png");
        using var source = GeneratedImage.FromBytes(png, "image/png");

        using var result = await _encoder.EncodeAsync(source);

        Assert.True(result.OriginalIsSourceBytes);
        Assert.Equal(png, ReadAll(result.Original));
        Assert.Equal(("image/png", 640, 480, png.LongLength), (result.Original.ContentType, result.Original.Width, result.Original.Height, result.Original.Length));
        AssertWebp(result.Display, 640, 480);
    }

    [Fact]
    public async Task FileBackedPng_IsKeptByteForByte_AndItsTemporaryFilesGoWithTheResult()
    {
        var png = TestImages.Encode(1200, 1000, ".png");
        Assert.True(png.Length > ImageSpool.MemoryLimitBytes);
        using var spool = new ImageSpool(_spool);
        spool.Write(png);
        using var source = spool.Complete("image/png");
        Assert.True(source.IsFileBacked);

        var result = await _encoder.EncodeAsync(source);
        Assert.Equal(png, ReadAll(result.Original));
        AssertWebp(result.Display, 1200, 1000);
        // The source's file and the two outputs.
        Assert.Equal(3, Directory.GetFiles(_spool).Length);

        result.Dispose();
        Assert.Single(Directory.GetFiles(_spool));
        Assert.Throws<ObjectDisposedException>(() => result.Display.OpenRead());
    }

    [Theory]
    [InlineData(".jpg", "image/png")]
    [InlineData(".webp", "image/png")]
    [InlineData(".gif", "image/jpeg")]
    public async Task OtherFormats_GiveAPngOriginal_WhateverTheDeclaredType(string suffix, string declared)
    {
        using var source = GeneratedImage.FromBytes(TestImages.Encode(800, 600, suffix), declared);

        using var result = await _encoder.EncodeAsync(source);

        Assert.False(result.OriginalIsSourceBytes);
        var original = ReadAll(result.Original);
        Assert.Equal("image/png", ImageEncoder.SniffContentType(original));
        Assert.Equal((800, 600), TestImages.SizeOf(new MemoryStream(original)));
        Assert.Equal((800, 600), (result.Original.Width, result.Original.Height));
        AssertWebp(result.Display, 800, 600);
    }

    [Theory]
    [InlineData(1600, 900, 2048, 1152)]
    [InlineData(4096, 4096, 2048, 2048)]
    [InlineData(900, 1600, 1152, 2048)]
    [InlineData(3000, 1999, 2048, 1365)]
    public async Task Resize_MakesTheLongSideExactly2048_UpOrDown(int width, int height, int expectedWidth, int expectedHeight)
    {
        using var source = GeneratedImage.FromBytes(TestImages.Encode(width, height, ".png"), "image/png");

        using var result = await _encoder.EncodeAsync(source, longSide: 2048);

        Assert.False(result.OriginalIsSourceBytes);
        Assert.Equal((expectedWidth, expectedHeight), (result.Original.Width, result.Original.Height));
        using (var original = result.Original.OpenRead())
        {
            Assert.Equal((expectedWidth, expectedHeight), TestImages.SizeOf(original));
        }

        AssertWebp(result.Display, expectedWidth, expectedHeight);
    }

    [Fact]
    public async Task NotAnImage_FailsAsUnknownFormat_AndLeavesNoFile()
    {
        using var source = GeneratedImage.FromBytes("<html>quota exceeded</html>"u8.ToArray(), "image/png");

        var failure = await Assert.ThrowsAsync<ImageEncodeException>(() => _encoder.EncodeAsync(source));

        Assert.Equal(ImageEncodeFailure.UnknownFormat, failure.Failure);
        Assert.Empty(Directory.GetFiles(_spool));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TruncatedOrCorruptPng_FailsAsCorrupt_AndLeavesNoFile(bool resize)
    {
        var png = TestImages.Encode(640, 480, ".png");
        var truncated = png[..(png.Length / 2)];
        var corrupt = png.ToArray();
        Array.Fill(corrupt, (byte)0x5A, 100, corrupt.Length - 200);

        foreach (var bytes in new[] { truncated, corrupt, PngSignature })
        {
            using var source = GeneratedImage.FromBytes(bytes, "image/png");
            var failure = await Assert.ThrowsAsync<ImageEncodeException>(() => _encoder.EncodeAsync(source, resize ? 2048 : null));
            Assert.Equal(ImageEncodeFailure.Corrupt, failure.Failure);
        }

        Assert.Empty(Directory.GetFiles(_spool));
    }

    [Fact]
    public async Task AMissingSpoolDirectory_IsAnIOException_NotABadImage()
    {
        using var encoder = new ImageEncoder(
            new ImageEncoderOptions { SpoolDirectory = Path.Combine(_spool, "gone") }, TimeProvider.System, NullLogger<ImageEncoder>.Instance);
        using var source = GeneratedImage.FromBytes(TestImages.Encode(64, 48, ".jpg"), "image/jpeg");

        await Assert.ThrowsAsync<DirectoryNotFoundException>(() => encoder.EncodeAsync(source));
        Assert.Equal(0, encoder.ActiveEncodes);
    }

    [Fact]
    public async Task EncodesBeyondTheBound_WaitForASlot()
    {
        using var encoder = NewEncoder(2);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = 0;
        var peak = 0;
        encoder.OnSlotTaken = async _ =>
        {
            Interlocked.Increment(ref entered);
            InterlockedMax(ref peak, encoder.ActiveEncodes);
            await release.Task;
        };
        var png = TestImages.Encode(64, 48, ".png");
        var sources = Enumerable.Range(0, 5).Select(_ => GeneratedImage.FromBytes(png, "image/png")).ToList();

        var encodes = sources.Select(source => encoder.EncodeAsync(source)).ToList();

        // The first two took the slots synchronously; the other three wait on the bound, not on the hook.
        Assert.Equal(2, Volatile.Read(ref entered));
        Assert.Equal(2, encoder.ActiveEncodes);
        Assert.All(encodes, encode => Assert.False(encode.IsCompleted));

        release.SetResult();
        var results = await Task.WhenAll(encodes).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(5, entered);
        Assert.Equal(2, peak);
        Assert.Equal(0, encoder.ActiveEncodes);
        foreach (var result in results)
        {
            AssertWebp(result.Display, 64, 48);
            result.Dispose();
        }
    }

    [Fact]
    public async Task LargeImages_AreEncodedOneAtATime_WhileASmallOneTakesTheOtherSlot()
    {
        using var encoder = NewEncoder(2);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = 0;

        // The first encode to take a slot holds it until released; the others go straight on.
        encoder.OnSlotTaken = _ => Interlocked.Increment(ref entered) == 1 ? release.Task : Task.CompletedTask;
        using var flat = NetVips.Image.Black(2200, 2200, bands: 3);
        var large = flat.PngsaveBuffer();
        var sources = new[] { large, large, TestImages.Encode(64, 48, ".png") }.Select(png => GeneratedImage.FromBytes(png, "image/png")).ToList();

        var first = encoder.EncodeAsync(sources[0]);
        var second = encoder.EncodeAsync(sources[1]);
        var small = encoder.EncodeAsync(sources[2]);

        // 2200 x 2200 is past ImageEncoder.LargePixels: while the first large one is held, the second waits although a
        // slot of the bound is free, and the small one takes that slot and finishes.
        (await small.WaitAsync(TimeSpan.FromSeconds(60))).Dispose();
        Assert.False(second.IsCompleted);
        Assert.False(first.IsCompleted);
        release.SetResult();
        foreach (var result in await Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(60)))
        {
            result.Dispose();
        }

        Assert.Equal(3, entered);
    }

    [Fact]
    public async Task WaitingForASlot_CanBeCancelled()
    {
        using var encoder = NewEncoder(1);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        encoder.OnSlotTaken = _ => release.Task;
        using var source = GeneratedImage.FromBytes(TestImages.Encode(64, 48, ".png"), "image/png");
        var first = encoder.EncodeAsync(source);
        using var cancel = new CancellationTokenSource();

        var second = encoder.EncodeAsync(source, cancellationToken: cancel.Token);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second);
        release.SetResult();
        (await first).Dispose();
    }

    [Theory]
    [InlineData(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13 }, "image/png")]
    [InlineData(new byte[] { 0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, (byte)'J', (byte)'F', (byte)'I', (byte)'F', 0, 1 }, "image/jpeg")]
    [InlineData(new byte[] { (byte)'R', (byte)'I', (byte)'F', (byte)'F', 1, 2, 3, 4, (byte)'W', (byte)'E', (byte)'B', (byte)'P' }, "image/webp")]
    [InlineData(new byte[] { (byte)'G', (byte)'I', (byte)'F', (byte)'8', (byte)'9', (byte)'a', 1, 0 }, "image/gif")]
    [InlineData(new byte[] { (byte)'G', (byte)'I', (byte)'F', (byte)'8', (byte)'7', (byte)'a' }, "image/gif")]
    [InlineData(new byte[] { (byte)'R', (byte)'I', (byte)'F', (byte)'F', 1, 2, 3, 4, (byte)'W', (byte)'A', (byte)'V', (byte)'E' }, null)]
    [InlineData(new byte[] { (byte)'R', (byte)'I', (byte)'F', (byte)'F', 1, 2, 3, 4, (byte)'W', (byte)'E', (byte)'B' }, null)]
    [InlineData(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, null)]
    [InlineData(new byte[] { (byte)'{', (byte)'"' }, null)]
    [InlineData(new byte[0], null)]
    public void Sniff_TellsTheFormatFromTheBytes(byte[] header, string? expected) =>
        Assert.Equal(expected, ImageEncoder.SniffContentType(header));

    [Fact]
    public void Sniff_AgreesWithWhatLibvipsWrites()
    {
        foreach (var (suffix, type) in new[] { (".png", "image/png"), (".jpg", "image/jpeg"), (".webp", "image/webp"), (".gif", "image/gif") })
        {
            Assert.Equal(type, ImageEncoder.SniffContentType(TestImages.Encode(16, 16, suffix)));
        }
    }

    private ImageEncoder NewEncoder(int bound) =>
        new(new ImageEncoderOptions { MaxConcurrentEncodes = bound, SpoolDirectory = _spool }, TimeProvider.System, NullLogger<ImageEncoder>.Instance);

    private static byte[] ReadAll(EncodedImage image)
    {
        using var stream = image.OpenRead();
        Assert.True(stream.CanSeek);
        var bytes = TestImages.ReadAll(stream);
        Assert.Equal(image.Length, bytes.LongLength);
        return bytes;
    }

    private static void AssertWebp(EncodedImage image, int width, int height)
    {
        var bytes = ReadAll(image);
        Assert.Equal("image/webp", image.ContentType);
        Assert.Equal("RIFF"u8.ToArray(), bytes[..4]);
        Assert.Equal("WEBP"u8.ToArray(), bytes[8..12]);
        // The RIFF size field counts the bytes after it: the file is whole.
        Assert.Equal(bytes.Length - 8, BitConverter.ToInt32(bytes, 4));
        Assert.Equal((width, height), TestImages.SizeOf(new MemoryStream(bytes)));
        Assert.Equal((width, height), (image.Width, image.Height));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
