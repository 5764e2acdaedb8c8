using GenerationWorker.Grains.Jobs;
using GenerationWorker.Grains.Videos;

namespace GenerationWorker.Grains.Tests.Videos;

public sealed class VideoRequestTests
{
    [Fact]
    public void Payload_GivesTheGuidelines_TheSettings_ThenTheUserPrompt()
    {
        var request = Parse("""
            {"sourceImageUrl": "https://cdn.example.com/p.png", "prompt": "slow orbit", "sessionId": "s1",
             "productIds": ["p1"], "settings": {"aspectRatio": "9:16", "resolution": "720p", "model": "veo-3.0-generate-001"}}
            """);

        Assert.Equal(
            VideoRequest.Guidelines + "\n\nSettings:\nAspect ratio: 9:16\nResolution: 720p\n\nUser prompt:\nslow orbit",
            request.VeoPrompt());
        Assert.Equal(("9:16", "720p", "veo-3.0-generate-001", "s1"), (request.AspectRatio, request.Resolution, request.Model, request.SessionId));
        Assert.IsType<ImageReference.Remote>(request.SourceImage);
        Assert.Equal(["p1"], request.ProductIds);
    }

    [Fact]
    public void PromptWithItsOwnGuidelines_IsSentAsIs_AndDefaultsApply()
    {
        var request = Parse("""{"prompt": "SYSTEM GUIDELINES: mine\nUser prompt: x"}""");

        Assert.Equal("SYSTEM GUIDELINES: mine\nUser prompt: x", request.VeoPrompt());
        Assert.Equal("16:9", request.AspectRatio);
        Assert.Null(request.Resolution);
        Assert.Null(request.Model);
        Assert.Null(request.SourceImage);
        Assert.Equal("""{"aspectRatio":"16:9"}""", request.AssetSettingsJson);
    }

    [Theory]
    [InlineData("""{"settings": {}}""", "invalid payload: 'prompt' is required")]
    [InlineData("""{"prompt": "p", "settings": {"resolution": "4k"}}""", "invalid payload: settings.resolution '4k' is not one of 720p, 1080p")]
    [InlineData("""{"prompt": "p", "sourceImageUrl": "ftp://x/y.png"}""", "invalid payload: 'sourceImageUrl' ")]
    public void BadPayload_FailsWithItsReason(string payload, string error)
    {
        Assert.Null(VideoRequest.Parse(payload, out var reason));
        Assert.StartsWith(error, reason, StringComparison.Ordinal);
    }

    private static VideoRequest Parse(string payload) =>
        VideoRequest.Parse(payload, out var error) ?? throw new Xunit.Sdk.XunitException(error);
}
