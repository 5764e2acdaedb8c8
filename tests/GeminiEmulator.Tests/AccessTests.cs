using System.Net;

namespace GenerationWorker.GeminiEmulator.Tests;

/// <summary>API key and model checks answer like Google.</summary>
public sealed class AccessTests : IAsyncLifetime
{
    private const string Body = """{"contents":[{"parts":[{"text":"a lighthouse"}]}]}""";
    private EmulatorSession _session = null!;

    public async Task InitializeAsync() => _session = await EmulatorSession.StartAsync();

    public async Task DisposeAsync() => await _session.DisposeAsync();

    [Fact]
    public async Task MissingKey_Answers403PermissionDenied()
    {
        var reply = await _session.SendAsync(HttpMethod.Post, "v1beta/models/gemini-2.5-flash-image:generateContent", Body);

        Assert.Equal(HttpStatusCode.Forbidden, reply.Status);
        Assert.Equal("PERMISSION_DENIED", reply.ErrorStatus);
        Assert.StartsWith("Method doesn't allow unregistered callers", reply.ErrorMessage);
        Assert.Equal(403, reply.Error.GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task WrongKey_Answers400ApiKeyInvalidWithErrorInfo()
    {
        var reply = await _session.SendAsync(HttpMethod.Post, "v1beta/models/gemini-2.5-flash-image:generateContent", Body, apiKey: "nope");

        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Equal("INVALID_ARGUMENT", reply.ErrorStatus);
        Assert.Equal("API key not valid. Please pass a valid API key.", reply.ErrorMessage);
        var info = reply.Detail("ErrorInfo");
        Assert.Equal("API_KEY_INVALID", info.GetProperty("reason").GetString());
        Assert.Equal("googleapis.com", info.GetProperty("domain").GetString());
        Assert.Equal("generativelanguage.googleapis.com", info.GetProperty("metadata").GetProperty("service").GetString());
    }

    [Fact]
    public async Task LeakedKey_Answers403Leaked()
    {
        var reply = await _session.SendAsync(
            HttpMethod.Post, "v1beta/models/gemini-2.5-flash-image:generateContent", Body, apiKey: EmulatorOptions.DefaultLeakedApiKey);

        Assert.Equal(HttpStatusCode.Forbidden, reply.Status);
        Assert.Equal("PERMISSION_DENIED", reply.ErrorStatus);
        Assert.Equal("Your API key was reported as leaked. Please use another API key.", reply.ErrorMessage);
    }

    [Theory]
    [InlineData("gemini-3-pro-image-preview")]
    [InlineData("imagen-4.0-generate-001")]
    public async Task UnknownModel_Answers404WithGooglesMessage(string model)
    {
        var reply = await _session.GenerateAsync("a lighthouse", model);

        Assert.Equal(HttpStatusCode.NotFound, reply.Status);
        Assert.Equal("NOT_FOUND", reply.ErrorStatus);
        Assert.Equal(
            $"models/{model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.",
            reply.ErrorMessage);
    }

    [Theory]
    [InlineData("gemini-3-pro-image-preview")]
    [InlineData("gemini-3.1-flash-image-preview")]
    public async Task RetiredPreviewIds_Answer404EvenWhenConfigured(string model)
    {
        await using var session = await EmulatorSession.StartAsync(o => o.Models = [.. EmulatorOptions.DefaultModels, model]);

        var reply = await session.GenerateAsync("a lighthouse", model);

        Assert.Equal(HttpStatusCode.NotFound, reply.Status);
        Assert.Equal("NOT_FOUND", reply.ErrorStatus);
        Assert.StartsWith($"models/{model} is not found for API version v1beta", reply.ErrorMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gemini-2.5-flash-image")]
    [InlineData("gemini-3-pro-image")]
    [InlineData("gemini-3.1-flash-image")]
    [InlineData("gemini-3.1-flash-lite-image")]
    public async Task DefaultModels_AnswerWithAnImage(string model)
    {
        var reply = await _session.GenerateAsync("a lighthouse", model);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal(model, reply.Json.GetProperty("modelVersion").GetString());
        Png.Check(reply.Image);
    }

    [Theory]
    [InlineData("POST", "v1beta/models/gemini-2.5-flash-image:countTokens")]
    [InlineData("POST", "v1beta/models/gemini-2.5-flash-image")]
    [InlineData("GET", "v1beta/models/gemini-2.5-flash-image:generateContent")]
    [InlineData("POST", "v1/models/gemini-2.5-flash-image:generateContent")]
    public async Task UnknownMethodOrPath_Answers404(string method, string path)
    {
        var reply = await _session.SendAsync(new HttpMethod(method), path, Body, apiKey: _session.Emulator.ApiKey);

        Assert.Equal(HttpStatusCode.NotFound, reply.Status);
        Assert.Equal("NOT_FOUND", reply.ErrorStatus);
    }

    [Fact]
    public async Task ConfiguredModels_ReplaceTheDefaults()
    {
        await using var session = await EmulatorSession.StartAsync(o => o.Models = ["my-image-model"]);

        Assert.Equal(HttpStatusCode.OK, (await session.GenerateAsync("x", "my-image-model")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await session.GenerateAsync("x", "gemini-2.5-flash-image")).Status);
    }

    [Fact]
    public async Task ConfiguredKey_IsTheOnlyOneAccepted()
    {
        await using var session = await EmulatorSession.StartAsync(o => o.ApiKey = "secret-1");

        Assert.Equal(HttpStatusCode.OK, (await session.GenerateAsync("x")).Status);
        var wrong = await session.SendAsync(HttpMethod.Post, "v1beta/models/gemini-2.5-flash-image:generateContent", Body, apiKey: EmulatorOptions.DefaultApiKey);
        Assert.Equal(HttpStatusCode.BadRequest, wrong.Status);
    }
}
