using System.Net;
using GenerationWorker.TestSupport;

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

    [Theory]
    [InlineData("gemini-2.5-flash-image", "1:1", null, 1024, 1024)]
    [InlineData("gemini-2.5-flash-image", "16:9", null, 1344, 768)]
    [InlineData("gemini-2.5-flash-image", "9:16", null, 768, 1344)]
    [InlineData("gemini-2.5-flash-image", "21:9", null, 1536, 672)]
    [InlineData("gemini-2.5-flash-image", "4:5", null, 896, 1152)]
    [InlineData("gemini-2.5-flash-image", null, null, 1024, 1024)]
    [InlineData("gemini-3-pro-image", "16:9", "1K", 1376, 768)]
    [InlineData("gemini-3-pro-image", "16:9", "2K", 2752, 1536)]
    [InlineData("gemini-3-pro-image", "16:9", "4K", 5504, 3072)]
    [InlineData("gemini-3-pro-image", "1:1", "2K", 2048, 2048)]
    [InlineData("gemini-3-pro-image", "1:1", "4K", 4096, 4096)]
    [InlineData("gemini-3-pro-image", "3:4", "2K", 1792, 2400)]
    [InlineData("gemini-3-pro-image", "2:3", "1K", 848, 1264)]
    [InlineData("gemini-3-pro-image", "21:9", null, 1584, 672)]
    [InlineData("gemini-3-pro-image", null, "2K", 2048, 2048)]
    [InlineData("gemini-3.1-flash-image", "9:16", "4K", 3072, 5504)]
    [InlineData("gemini-3.1-flash-image", "1:1", "512", 512, 512)]
    [InlineData("gemini-3.1-flash-image", "8:1", "1K", 3072, 384)]
    [InlineData("gemini-3.1-flash-image", "1:4", "2K", 1024, 4096)]
    [InlineData("gemini-3.1-flash-lite-image", "4:5", "1K", 928, 1152)]
    public async Task RealSizes_AreTheModelsPublishedPixelSizes(string model, string? ratio, string? size, int width, int height)
    {
        await using var session = await EmulatorSession.StartAsync(o => o.RealImageSizes = true);

        var reply = await session.GenerateAsync("a lighthouse", model, ratio, size);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal((width, height), Png.Check(reply.Image));
        var logged = session.Emulator.ReceivedRequests("a lighthouse").Single();
        Assert.Equal((width, height), (logged.AnsweredWidth, logged.AnsweredHeight));
        Assert.Equal(ratio ?? "1:1", logged.AnsweredAspectRatio);
    }

    [Fact]
    public void RealSizes_CoverEveryRatioAndSizeOfEveryDefaultModel_CloseToTheRatio()
    {
        foreach (var model in EmulatorOptions.DefaultModels.Select(EmulatedModel.For))
        {
            foreach (var ratio in model.AspectRatios)
            {
                var parts = ratio.Split(':').Select(double.Parse).ToArray();
                foreach (var size in model.ImageSizes.DefaultIfEmpty("1K"))
                {
                    var (width, height) = model.RealSize(ratio, size);
                    Assert.InRange((double)width / height / (parts[0] / parts[1]), 0.97, 1.03);
                    var pixels = (double)width * height;
                    var expected = size switch { "512" => 0.26e6, "2K" => 4.2e6, "4K" => 16.8e6, _ => 1.05e6 };
                    Assert.InRange(pixels / expected, 0.85, 1.2);
                }
            }
        }
    }

    [Fact]
    public async Task RealSizes_A4KImageIsAValidPngOfMegabytes()
    {
        await using var session = await EmulatorSession.StartAsync(o => o.RealImageSizes = true);

        var png = (await session.GenerateAsync("a 4K harbour", "gemini-3-pro-image", "21:9", "4K")).Image;

        Assert.Equal((6336, 2688), Png.Check(png));
        Assert.InRange(png.Length, 5_000_000, 6336 * 2688 * 3);
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
