using System.Net;
using GenerationWorker.TestSupport;

namespace GenerationWorker.GeminiEmulator.Tests;

/// <summary>Invalid requests get 400 INVALID_ARGUMENT with a message naming the problem, like the real API.</summary>
public sealed class ValidationTests : IAsyncLifetime
{
    private static readonly byte[] TinyPng = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52];
    private EmulatorSession _session = null!;

    public async Task InitializeAsync() => _session = await EmulatorSession.StartAsync();

    public async Task DisposeAsync() => await _session.DisposeAsync();

    [Theory]
    [InlineData("{", "Invalid JSON payload received. Unexpected token.")]
    [InlineData("[]", "Root element must be a message")]
    [InlineData("{}", "* GenerateContentRequest.contents: contents is not specified")]
    [InlineData("""{"contents":[]}""", "contents is not specified")]
    [InlineData("""{"contents":{}}""", "Expected a list for 'contents'")]
    [InlineData("""{"contents":[{"role":"user","parts":[]}]}""", "contents[0].parts: contents.parts must not be empty")]
    [InlineData("""{"contents":[{"parts":[{}]}]}""", "contents[0].parts[0].data: required oneof field 'data' must have one initialized field")]
    [InlineData("""{"contents":[{"parts":[{"text":5}]}]}""", "Invalid value at 'contents[0].parts[0].text' (TYPE_STRING), 5")]
    [InlineData("""{"contents":[{"parts":[{"text":"a","inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo="}}]}]}""", "Oneof field 'data' is already set")]
    [InlineData("""{"contents":[{"parts":[{"inlineData":{"mimeType":"image/png","data":"not base64!"}}]}]}""", "Invalid value at 'contents[0].parts[0].inline_data.data' (TYPE_BYTES), Base64 decoding failed for \"not base64!\"")]
    [InlineData("""{"contents":[{"parts":[{"inlineData":{"mimeType":"image/png","data":"aGVsbG8gd29ybGQ="}}]}]}""", "Unable to process input image")]
    [InlineData("""{"contents":[{"parts":[{"inlineData":{"mimeType":"image/bmp","data":"Qk0="}}]}]}""", "Unsupported MIME type: image/bmp")]
    [InlineData("""{"contents":[{"parts":[{"inlineData":{"data":"Qk0="}}]}]}""", "inline_data.mime_type: mime_type is not specified")]
    [InlineData("""{"contents":[{"parts":[{"text":"a"}]}],"foo":1}""", "Invalid JSON payload received. Unknown name \"foo\": Cannot find field.")]
    [InlineData("""{"contents":[{"parts":[{"text":"a","colour":"red"}]}]}""", "Unknown name \"colour\" at 'contents[0].parts[0]': Cannot find field.")]
    [InlineData("""{"contents":[{"parts":[{"text":"a"}]}],"generationConfig":{"imageConfig":{"quality":"high"}}}""", "Unknown name \"quality\" at 'generation_config.image_config': Cannot find field.")]
    [InlineData("""{"contents":[{"parts":[{"text":"a"}]}],"generationConfig":{"candidateCount":2}}""", "Multiple candidates is not enabled for models/gemini-2.5-flash-image")]
    [InlineData("""{"contents":[{"parts":[{"text":"a"}]}],"generationConfig":{"candidateCount":"two"}}""", "Invalid value at 'generation_config.candidate_count' (TYPE_INT32)")]
    [InlineData("""{"contents":[{"parts":[{"text":"a"}]}],"generationConfig":{"responseModalities":["PICTURE"]}}""", "Invalid value at 'generation_config.response_modalities[0]'")]
    [InlineData("""{"contents":[{"parts":[{"text":"a"}]}],"generationConfig":{"imageConfig":{"aspectRatio":"7:5"}}}""", "Unsupported aspect ratio \"7:5\"")]
    [InlineData("""{"contents":[{"parts":[{"text":"a"}]}],"generationConfig":{"imageConfig":{"aspectRatio":"16:9","imageSize":"1k"}}}""", "Unsupported image size \"1k\"")]
    [InlineData("""{"contents":[{"parts":[{"text":"a"}]}],"generationConfig":{"imageConfig":{"imageSize":"1K"}}}""", "Image size is not supported for models/gemini-2.5-flash-image.")]
    [InlineData("""{"contents":[{"parts":[{"text":"a [emulate:explode]"}]}]}""", "Unknown emulator directive [emulate:explode]")]
    public async Task InvalidBody_Answers400WithTheProblem(string body, string message)
    {
        var reply = await _session.PostAsync(EmulatorSession.Model, body);

        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Equal("INVALID_ARGUMENT", reply.ErrorStatus);
        Assert.Equal(400, reply.Error.GetProperty("code").GetInt32());
        Assert.Contains(message, reply.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(1, _session.Emulator.Stats.ForModel(EmulatorSession.Model).ClientErrors);
    }

    [Theory]
    [InlineData("gemini-3.1-flash-image", "1:8", "1K", true)]
    [InlineData("gemini-3.1-flash-image", "4:1", "512", true)]
    [InlineData("gemini-3.1-flash-lite-image", "8:1", "1K", true)]
    [InlineData("gemini-3.1-flash-lite-image", "1:1", "2K", false)]
    [InlineData("gemini-3-pro-image", "1:8", "1K", false)]
    [InlineData("gemini-3-pro-image", "21:9", "4K", true)]
    [InlineData("gemini-3-pro-image", "1:1", "512", false)]
    [InlineData("gemini-2.5-flash-image", "1:4", null, false)]
    [InlineData("gemini-2.5-flash-image", "5:4", null, true)]
    [InlineData("gemini-2.5-flash-image", "5:4", "1K", false)]
    [InlineData("gemini-2.5-flash-image", "5:4", "2K", false)]
    [InlineData("gemini-2.5-flash-image", "5:4", "4k", false)]
    [InlineData("gemini-3.1-flash-lite-image", "1:1", "1K", true)]
    [InlineData("gemini-3.1-flash-lite-image", "1:1", "4K", false)]
    [InlineData("gemini-3-pro-image", "1:1", "2k", false)]
    [InlineData("gemini-3.1-flash-image", "1:1", "2k", false)]
    public async Task RatiosAndSizes_FollowEachModelsCapabilities(string model, string ratio, string? size, bool accepted)
    {
        var reply = await _session.GenerateAsync("a fjord", model, ratio, size);

        Assert.Equal(accepted ? HttpStatusCode.OK : HttpStatusCode.BadRequest, reply.Status);
    }

    [Theory]
    [InlineData("gemini-2.5-flash-image", "1K", "Image size is not supported for models/gemini-2.5-flash-image. Remove generation_config.image_config.image_size.")]
    [InlineData("gemini-2.5-flash-image", "4K", "Image size is not supported for models/gemini-2.5-flash-image. Remove generation_config.image_config.image_size.")]
    [InlineData("gemini-3.1-flash-lite-image", "2K", "Unsupported image size \"2K\" for models/gemini-3.1-flash-lite-image. Supported values: 1K.")]
    [InlineData("gemini-3-pro-image", "2k", "Unsupported image size \"2k\" for models/gemini-3-pro-image. Supported values: 1K, 2K, 4K.")]
    [InlineData("gemini-3-pro-image", "512", "Unsupported image size \"512\" for models/gemini-3-pro-image. Supported values: 1K, 2K, 4K.")]
    public async Task ImageSize_IsRefusedByModelsThatDoNotTakeIt(string model, string size, string message)
    {
        var reply = await _session.GenerateAsync("a fjord", model, "1:1", size);

        Assert.Equal((HttpStatusCode.BadRequest, "INVALID_ARGUMENT"), (reply.Status, reply.ErrorStatus));
        Assert.Equal(message, reply.ErrorMessage);
    }

    [Fact]
    public async Task SnakeCaseFieldNames_AreAcceptedLikeProtobufJson()
    {
        var reply = await _session.PostAsync(
            EmulatorSession.Model,
            """{"contents":[{"parts":[{"text":"a"}]}],"generation_config":{"candidate_count":1,"image_config":{"aspect_ratio":"16:9"}}}""");

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal((64, 36), Png.Check(reply.Image));
    }

    [Fact]
    public async Task ReferenceImages_AreAcceptedCountedAndLogged()
    {
        var source = (await _session.GenerateAsync("source")).Image;
        var body = GeminiEmulatorRequests.Body("make it blue", "1:1", null, ("image/png", source), ("image/jpeg", [0xFF, 0xD8, 0xFF, 0xE0, 1, 2]));

        var reply = await _session.PostAsync(EmulatorSession.Model, body);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        var details = reply.Json.GetProperty("usageMetadata").GetProperty("promptTokensDetails");
        Assert.Contains(details.EnumerateArray(), d => d.GetProperty("modality").GetString() == "IMAGE");
        var logged = _session.Emulator.Stats.Snapshot().RecentRequests[^1];
        Assert.Equal(2, logged.ReferenceImages);
        Assert.Equal("make it blue", logged.PromptStart);
        Assert.Equal("1:1", logged.AspectRatio);
    }

    [Fact]
    public async Task InlineDataOver20MB_IsRejected_JustUnderIsAccepted()
    {
        var under = new byte[GenerateContentRequestLimit - 1024];
        TinyPng.CopyTo(under, 0);
        var over = new byte[GenerateContentRequestLimit + 1];
        TinyPng.CopyTo(over, 0);

        var accepted = await _session.PostAsync(EmulatorSession.Model, GeminiEmulatorRequests.Body("x", null, null, ("image/png", under)));
        var rejected = await _session.PostAsync(EmulatorSession.Model, GeminiEmulatorRequests.Body("x", null, null, ("image/png", over)));

        Assert.Equal(HttpStatusCode.OK, accepted.Status);
        Assert.Equal(HttpStatusCode.BadRequest, rejected.Status);
        Assert.Equal("Request payload size exceeds the limit: 20971520 bytes.", rejected.ErrorMessage);
    }

    private const int GenerateContentRequestLimit = 20 * 1024 * 1024;
}
