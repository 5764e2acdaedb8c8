using System.Net;

namespace GenerationWorker.GeminiEmulator.Tests;

/// <summary>The images are valid PNGs with exactly the requested ratio, deterministic per prompt.</summary>
public sealed class ImageTests : IAsyncLifetime
{
    private EmulatorSession _session = null!;

    public async Task InitializeAsync() => _session = await EmulatorSession.StartAsync();

    public async Task DisposeAsync() => await _session.DisposeAsync();

    [Theory]
    [InlineData("1:1", 64, 64)]
    [InlineData("16:9", 64, 36)]
    [InlineData("9:16", 36, 64)]
    [InlineData("21:9", 63, 27)]
    [InlineData("4:5", 48, 60)]
    [InlineData("3:2", 63, 42)]
    [InlineData("1:8", 8, 64)]
    [InlineData("4:1", 64, 16)]
    public async Task Image_IsAValidPngWithExactlyTheRequestedRatio(string ratio, int width, int height)
    {
        var reply = await _session.GenerateAsync("a harbour at dusk", "gemini-3.1-flash-image", ratio);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal((width, height), Png.Check(reply.Image));
        var parts = ratio.Split(':').Select(int.Parse).ToArray();
        Assert.Equal(width * parts[1], height * parts[0]);
    }

    [Fact]
    public async Task NoAspectRatio_IsSquare()
    {
        var reply = await _session.GenerateAsync("a harbour at dusk");

        Assert.Equal((64, 64), Png.Check(reply.Image));
    }

    [Fact]
    public async Task SamePromptRatioAndSize_GiveTheSameBytes_OtherPromptsOtherBytes()
    {
        var first = await _session.GenerateAsync("a red bicycle", aspectRatio: "3:4");
        var again = await _session.GenerateAsync("a red bicycle", aspectRatio: "3:4");
        var other = await _session.GenerateAsync("a blue tram", aspectRatio: "3:4");

        Assert.Equal(first.Image, again.Image);
        Assert.NotEqual(first.Image, other.Image);
        Assert.NotEqual(first.Json.GetProperty("responseId").GetString(), again.Json.GetProperty("responseId").GetString());
    }

    [Fact]
    public async Task Success_CarriesTextPartUsageAndModelVersion()
    {
        var reply = await _session.GenerateAsync("a red bicycle", "gemini-3-pro-image");

        Assert.Equal("STOP", reply.FinishReason);
        Assert.Equal(0, reply.Candidate.GetProperty("index").GetInt32());
        Assert.Equal("model", reply.Candidate.GetProperty("content").GetProperty("role").GetString());
        Assert.True(reply.Parts[0].TryGetProperty("text", out _));
        Assert.Equal("image/png", reply.Parts[1].GetProperty("inlineData").GetProperty("mimeType").GetString());
        var usage = reply.Json.GetProperty("usageMetadata");
        var prompt = usage.GetProperty("promptTokenCount").GetInt32();
        var candidates = usage.GetProperty("candidatesTokenCount").GetInt32();
        Assert.True(candidates >= 1290);
        Assert.Equal(prompt + candidates, usage.GetProperty("totalTokenCount").GetInt32());
        Assert.Equal("TEXT", usage.GetProperty("promptTokensDetails")[0].GetProperty("modality").GetString());
        Assert.Equal("gemini-3-pro-image", reply.Json.GetProperty("modelVersion").GetString());
    }

    [Fact]
    public async Task ResponseTextOff_SendsTheImageAlone()
    {
        await using var session = await EmulatorSession.StartAsync(o => o.ResponseText = false);

        var reply = await session.GenerateAsync("a red bicycle");

        var part = Assert.Single(reply.Parts);
        Assert.True(part.TryGetProperty("inlineData", out _));
    }

    [Fact]
    public async Task TextOnlyModalities_AnswerWithTextOnly()
    {
        var reply = await _session.PostAsync(EmulatorSession.Model, """{"contents":[{"parts":[{"text":"describe a cat"}]}],"generationConfig":{"responseModalities":["TEXT"]}}""");

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        var part = Assert.Single(reply.Parts);
        Assert.True(part.TryGetProperty("text", out _));
    }

    [Fact]
    public async Task ThoughtImages_Gemini3SendsAnInterimThoughtThenTheSignedFinal()
    {
        await using var session = await EmulatorSession.StartAsync(o => o.ThoughtImages = true);

        var gemini3 = await session.GenerateAsync("a red bicycle", "gemini-3-pro-image", "16:9");
        var gemini25 = await session.GenerateAsync("a red bicycle", "gemini-2.5-flash-image", "16:9");

        Assert.Equal(3, gemini3.Parts.Length);
        Assert.True(gemini3.Parts[1].GetProperty("thought").GetBoolean());
        Assert.False(gemini3.Parts[2].TryGetProperty("thought", out _));
        Assert.NotEmpty(gemini3.Parts[2].GetProperty("thoughtSignature").GetBytesFromBase64());
        var thought = gemini3.Parts[1].GetProperty("inlineData").GetProperty("data").GetBytesFromBase64();
        Assert.Equal(Png.Check(thought), Png.Check(gemini3.Image));
        Assert.NotEqual(thought, gemini3.Image);
        Assert.Equal(2, gemini25.Parts.Length);
    }

    [Fact]
    public async Task RealSizes_GiveTheDocumentedLongSide()
    {
        await using var session = await EmulatorSession.StartAsync(o => o.RealImageSizes = true);

        Assert.Equal((1024, 576), Png.Check((await session.GenerateAsync("a", "gemini-3-pro-image", "16:9", "1K")).Image));
        Assert.Equal((1024, 1024), Png.Check((await session.GenerateAsync("a", "gemini-3-pro-image")).Image));
        Assert.Equal((1536, 2048), Png.Check((await session.GenerateAsync("a", "gemini-3-pro-image", "3:4", "2K")).Image));
        Assert.Equal((4096, 2304), Png.Check((await session.GenerateAsync("a", "gemini-3-pro-image", "16:9", "4K")).Image));
        Assert.Equal((512, 512), Png.Check((await session.GenerateAsync("a", "gemini-3.1-flash-image", "1:1", "512")).Image));

        // gemini-2.5-flash-image has no size option: the size is accepted and ignored.
        Assert.Equal((1024, 1024), Png.Check((await session.GenerateAsync("a", "gemini-2.5-flash-image", "1:1", "4K")).Image));
    }

    [Fact]
    public async Task RealSizes_CompressLikeAPictureNotLikeAFlatColour()
    {
        await using var session = await EmulatorSession.StartAsync(o => o.RealImageSizes = true);

        var png = (await session.GenerateAsync("a", "gemini-3-pro-image", "1:1", "1K")).Image;

        // Real 1K PNGs from Gemini weigh around 1-2 MB (raw RGB is 3 MiB).
        Assert.InRange(png.Length, 600_000, 3 * 1024 * 1024);
    }

    [Fact]
    public async Task ConfiguredLongSide_ScalesTheImage()
    {
        await using var session = await EmulatorSession.StartAsync(o => o.ImageLongSide = 160);

        Assert.Equal((160, 90), Png.Check((await session.GenerateAsync("a", aspectRatio: "16:9")).Image));
    }
}
