using System.Text.Json;
using GenerationWorker.Grains.Gemini;

namespace GenerationWorker.Grains.Tests.Gemini;

/// <summary>What the client puts on the wire.</summary>
public sealed class GeminiRequestTests
{
    private const string ImageAnswer = """{"candidates":[{"content":{"parts":[{"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo="}}]},"finishReason":"STOP"}]}""";

    [Fact]
    public async Task Request_GoesToGenerateContentWithTheKeyInAHeaderOnly()
    {
        var (_, sent) = await Replay.RunAsync(200, ImageAnswer, request: TestGeminiClient.TextOnly("a fox", "gemini-3-pro-image"));

        Assert.Equal("POST", sent.Method);
        Assert.Equal("/v1beta/models/gemini-3-pro-image:generateContent", sent.Path);
        Assert.Equal("", sent.QueryString);
        Assert.Equal(TestGeminiClient.ApiKey, sent.Headers["x-goog-api-key"]);
        Assert.StartsWith("application/json", sent.Headers["Content-Type"], StringComparison.Ordinal);
        Assert.Equal(sent.Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), sent.Headers["Content-Length"]);
    }

    [Fact]
    public async Task Request_WithAspectRatioAndSize_CarriesBothInImageConfig()
    {
        var request = new GeminiImageRequest("gemini-3-pro-image", "a fox", [], "16:9", "2K");

        var (_, sent) = await Replay.RunAsync(200, ImageAnswer, request: request);

        using var body = sent.BodyJson();
        var config = body.RootElement.GetProperty("generationConfig");
        Assert.Equal(["IMAGE"], config.GetProperty("responseModalities").EnumerateArray().Select(m => m.GetString()));
        var imageConfig = config.GetProperty("imageConfig");
        Assert.Equal("16:9", imageConfig.GetProperty("aspectRatio").GetString());
        Assert.Equal("2K", imageConfig.GetProperty("imageSize").GetString());
        Assert.Equal(2, imageConfig.EnumerateObject().Count());
    }

    [Fact]
    public async Task Request_WithAspectRatioOnly_OmitsImageSize()
    {
        var request = new GeminiImageRequest("gemini-2.5-flash-image", "a fox", [], "3:4", null);

        var (_, sent) = await Replay.RunAsync(200, ImageAnswer, request: request);

        using var body = sent.BodyJson();
        var imageConfig = body.RootElement.GetProperty("generationConfig").GetProperty("imageConfig");
        Assert.Equal(["aspectRatio"], imageConfig.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task Request_WithSizeOnly_OmitsAspectRatio()
    {
        var request = new GeminiImageRequest("gemini-3-pro-image", "a fox", [], null, "4K");

        var (_, sent) = await Replay.RunAsync(200, ImageAnswer, request: request);

        using var body = sent.BodyJson();
        var imageConfig = body.RootElement.GetProperty("generationConfig").GetProperty("imageConfig");
        Assert.Equal(["imageSize"], imageConfig.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task Request_WithoutRatioOrSize_HasNoImageConfig()
    {
        var (_, sent) = await Replay.RunAsync(200, ImageAnswer);

        using var body = sent.BodyJson();
        Assert.Equal(
            ["responseModalities"],
            body.RootElement.GetProperty("generationConfig").EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task EditRequest_SendsImagesFirstAsBase64ThenTheText()
    {
        byte[] source = [.. Enumerable.Range(0, 3000).Select(i => (byte)(i * 7))];
        byte[] reference = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46];
        var request = new GeminiImageRequest(
            "gemini-2.5-flash-image",
            "make the sky purple",
            [new InputImage(source, "image/png"), new InputImage(reference, "image/jpeg")],
            null,
            null);

        var (_, sent) = await Replay.RunAsync(200, ImageAnswer, request: request);

        using var body = sent.BodyJson();
        var contents = body.RootElement.GetProperty("contents");
        Assert.Equal(1, contents.GetArrayLength());
        Assert.Equal("user", contents[0].GetProperty("role").GetString());
        var parts = contents[0].GetProperty("parts").EnumerateArray().ToList();
        Assert.Equal(3, parts.Count);
        AssertInlineData(parts[0], "image/png", source);
        AssertInlineData(parts[1], "image/jpeg", reference);
        Assert.Equal(["text"], parts[2].EnumerateObject().Select(p => p.Name));
        Assert.Equal("make the sky purple", parts[2].GetProperty("text").GetString());
    }

    [Fact]
    public async Task BaseUrlWithAPathPrefix_IsKept()
    {
        await using var server = await ReplayServer.StartAsync();
        server.Reply(200, ImageAnswer);
        using var client = new TestGeminiClient(new Uri(server.BaseUrl, "proxy/gemini"));

        await client.Client.GenerateImageAsync(TestGeminiClient.TextOnly("a fox"));

        Assert.Equal("/proxy/gemini/v1beta/models/gemini-2.5-flash-image:generateContent", (await server.FirstRequest).Path);
    }

    private static void AssertInlineData(JsonElement part, string mimeType, byte[] bytes)
    {
        Assert.Equal(["inlineData"], part.EnumerateObject().Select(p => p.Name));
        var inlineData = part.GetProperty("inlineData");
        Assert.Equal(mimeType, inlineData.GetProperty("mimeType").GetString());
        Assert.Equal(bytes, Convert.FromBase64String(inlineData.GetProperty("data").GetString()!));
    }
}
