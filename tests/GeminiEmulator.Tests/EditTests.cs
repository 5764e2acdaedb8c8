using System.Net;
using GenerationWorker.TestSupport;

namespace GenerationWorker.GeminiEmulator.Tests;

/// <summary>An edit (input images, no aspect ratio) answers in the shape of its first input image, like Google.</summary>
public sealed class EditTests : IAsyncLifetime
{
    private EmulatorSession _session = null!;

    public async Task InitializeAsync() => _session = await EmulatorSession.StartAsync();

    public async Task DisposeAsync() => await _session.DisposeAsync();

    [Theory]
    [InlineData("png", 1600, 900, "gemini-3-pro-image", "16:9", 64, 36)]
    [InlineData("jpeg", 900, 1200, "gemini-3-pro-image", "3:4", 48, 64)]
    [InlineData("webp", 1000, 500, "gemini-3-pro-image", "16:9", 64, 36)]
    [InlineData("png", 1000, 7000, "gemini-3-pro-image", "9:16", 36, 64)]
    [InlineData("png", 1000, 7000, "gemini-3.1-flash-image", "1:8", 8, 64)]
    [InlineData("jpeg", 2000, 1000, "gemini-2.5-flash-image", "16:9", 64, 36)]
    [InlineData("webp", 1050, 1000, "gemini-2.5-flash-image", "1:1", 64, 64)]
    public async Task Edit_AnswersTheSupportedRatioNearestToTheFirstImage(
        string format, int width, int height, string model, string ratio, int answerWidth, int answerHeight)
    {
        var source = Image(format, width, height);

        var reply = await _session.PostAsync(model, GeminiEmulatorRequests.Body("make it blue", null, null, source));

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal((answerWidth, answerHeight), Png.Check(reply.Image));
        var logged = _session.Emulator.ReceivedRequests("make it blue").Single();
        Assert.Null(logged.AspectRatio);
        Assert.Equal(ratio, logged.AnsweredAspectRatio);
    }

    [Fact]
    public async Task Edit_FollowsTheFirstImageNotTheOthers()
    {
        var body = GeminiEmulatorRequests.Body("swap the sofa", null, null, ("image/png", InputImages.Png(900, 1600)), ("image/png", InputImages.Png(1600, 900)));

        var reply = await _session.PostAsync("gemini-3-pro-image", body);

        Assert.Equal((36, 64), Png.Check(reply.Image));
    }

    [Fact]
    public async Task Edit_WithAnAspectRatio_AnswersTheRequestedRatio()
    {
        var body = GeminiEmulatorRequests.Body("crop it", "1:1", null, ("image/png", InputImages.Png(1600, 900)));

        var reply = await _session.PostAsync("gemini-3-pro-image", body);

        Assert.Equal((64, 64), Png.Check(reply.Image));
    }

    [Fact]
    public async Task Edit_WithAnUnreadableImageHeader_AnswersSquare()
    {
        var body = GeminiEmulatorRequests.Body("fix it", null, null, ("image/jpeg", [0xFF, 0xD8, 0xFF, 0xE0, 1, 2]));

        var reply = await _session.PostAsync("gemini-3-pro-image", body);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal((64, 64), Png.Check(reply.Image));
        var part = _session.Emulator.ReceivedRequests("fix it").Single().Parts![0];
        Assert.Equal(("image", "image/jpeg", null, null), (part.Kind, part.MimeType, part.Width, part.Height));
    }

    [Theory]
    [InlineData("gemini-3-pro-image", "2K", 2752, 1536)]
    [InlineData("gemini-3-pro-image", "4K", 5504, 3072)]
    [InlineData("gemini-2.5-flash-image", null, 1344, 768)]
    public async Task Edit_WithRealSizes_HasTheModelsSizeForTheSourcesRatio(string model, string? size, int width, int height)
    {
        await using var session = await EmulatorSession.StartAsync(o => o.RealImageSizes = true);
        var body = GeminiEmulatorRequests.Body("relight it", null, size, ("image/jpeg", InputImages.Jpeg(1920, 1080)));

        var reply = await session.PostAsync(model, body);

        Assert.Equal((width, height), Png.Check(reply.Image));
    }

    private static (string MimeType, byte[] Data) Image(string format, int width, int height) => format switch
    {
        "png" => ("image/png", InputImages.Png(width, height)),
        "jpeg" => ("image/jpeg", InputImages.Jpeg(width, height)),
        _ => ("image/webp", InputImages.WebP(width, height)),
    };
}
