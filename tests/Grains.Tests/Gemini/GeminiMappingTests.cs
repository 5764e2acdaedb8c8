using GenerationWorker.Grains.Gemini;

namespace GenerationWorker.Grains.Tests.Gemini;

/// <summary>The pure helpers job code uses to build a request and read a 429.</summary>
public sealed class GeminiMappingTests
{
    [Theory]
    [InlineData("1k", "1K")]
    [InlineData("2K", "2K")]
    [InlineData("4k", "4K")]
    public void FromQuality_MapsToUppercaseImageSize(string quality, string expected) =>
        Assert.Equal(expected, GeminiImageSize.FromQuality(quality));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void FromQuality_NoQuality_LeavesTheDefault(string? quality)
    {
        Assert.True(GeminiImageSize.TryFromQuality(quality, out var imageSize));
        Assert.Null(imageSize);
        Assert.Null(GeminiImageSize.FromQuality(quality));
    }

    [Theory]
    [InlineData("8k")]
    [InlineData("512")]
    [InlineData("hd")]
    [InlineData(" 2k")]
    [InlineData("2 K")]
    public void FromQuality_UnknownQuality_IsInvalid(string quality)
    {
        Assert.False(GeminiImageSize.TryFromQuality(quality, out var imageSize));
        Assert.Null(imageSize);
        Assert.Throws<ArgumentException>(() => GeminiImageSize.FromQuality(quality));
    }

    [Theory]
    [InlineData("gemini-2.5-flash-image", null, true)]
    [InlineData("gemini-2.5-flash-image", "1K", false)]
    [InlineData("gemini-3-pro-image", "4K", true)]
    [InlineData("gemini-3-pro-image", "512", false)]
    [InlineData("gemini-3.1-flash-image", "512", true)]
    [InlineData("gemini-3.1-flash-lite-image", "1K", true)]
    [InlineData("gemini-3.1-flash-lite-image", "2K", false)]
    public void ImageSize_IsSupportedPerModel(string model, string? imageSize, bool supported) =>
        Assert.Equal(supported, GeminiImageSize.IsSupported(model, imageSize));

    [Theory]
    [InlineData("37s", 370_000_000L)]
    [InlineData("45.837906927s", 458_379_069L)]
    [InlineData("0.5s", 5_000_000L)]
    [InlineData("0s", 0L)]
    [InlineData("1.000000001s", 10_000_000L)]
    [InlineData("-1.5s", -15_000_000L)]
    [InlineData("86400s", 864_000_000_000L)]
    public void ProtobufDuration_ParsesSecondsWithFraction(string text, long ticks)
    {
        Assert.True(ProtobufDuration.TryParse(text, out var duration));
        Assert.Equal(TimeSpan.FromTicks(ticks), duration);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("s")]
    [InlineData("37")]
    [InlineData("37ms")]
    [InlineData("1.s")]
    [InlineData(".5s")]
    [InlineData("1.0000000001s")]
    [InlineData("+3s")]
    [InlineData("1e3s")]
    [InlineData(" 3s")]
    [InlineData("999999999999999s")]
    public void ProtobufDuration_RejectsMalformedText(string? text)
    {
        Assert.False(ProtobufDuration.TryParse(text, out var duration));
        Assert.Equal(TimeSpan.Zero, duration);
    }

    [Theory]
    [InlineData("gemini-2.5-flash-image", "16:9", true)]
    [InlineData("gemini-2.5-flash-image", "21:9", true)]
    [InlineData("gemini-2.5-flash-image", "1:4", false)]
    [InlineData("gemini-3-pro-image", "8:1", false)]
    [InlineData("gemini-3.1-flash-image", "8:1", true)]
    [InlineData("gemini-3.1-flash-image", "1:4", true)]
    [InlineData("gemini-3.1-flash-image", "4:5", true)]
    [InlineData("gemini-3.1-flash-image", "7:3", false)]
    [InlineData("gemini-3-pro-image", "16/9", false)]
    [InlineData("gemini-3-pro-image", null, true)]
    public void AspectRatio_IsValidPerModel(string model, string? ratio, bool valid) =>
        Assert.Equal(valid, GeminiAspectRatios.IsValid(model, ratio));

    [Fact]
    public void AspectRatios_EveryModelAcceptsTheTenCommonRatios()
    {
        string[] common = ["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"];

        foreach (var model in new[] { "gemini-2.5-flash-image", "gemini-3-pro-image", "gemini-3.1-flash-image", "gemini-3.1-flash-lite-image" })
        {
            Assert.All(common, ratio => Assert.True(GeminiAspectRatios.IsValid(model, ratio), $"{model} {ratio}"));
        }
    }
}
