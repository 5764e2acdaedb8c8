using System.Net;
using GenerationWorker.TestSupport;

namespace GenerationWorker.GeminiEmulator.Tests;

/// <summary>The emulator reports each request it received exactly: model, ratio, size and every part in order.</summary>
public sealed class RequestReportTests : IAsyncLifetime
{
    private EmulatorSession _session = null!;

    public async Task InitializeAsync() => _session = await EmulatorSession.StartAsync();

    public async Task DisposeAsync() => await _session.DisposeAsync();

    [Fact]
    public async Task Report_HoldsTheModelConfigAndPartsInOrder()
    {
        const string body = """
            {"contents":[{"role":"user","parts":[
              {"inlineData":{"mimeType":"image/png","data":"PNG"}},
              {"text":"The images above are the products."},
              {"inlineData":{"mimeType":"image/jpeg","data":"JPEG"}},
              {"text":"job-7731 a chair in a sunlit loft"}]}],
             "generationConfig":{"responseModalities":["IMAGE"],"imageConfig":{"aspectRatio":"3:2","imageSize":"2K"}}}
            """;
        var json = body
            .Replace("\"PNG\"", "\"" + Convert.ToBase64String(InputImages.Png(800, 600)) + "\"", StringComparison.Ordinal)
            .Replace("\"JPEG\"", "\"" + Convert.ToBase64String(InputImages.Jpeg(640, 480)) + "\"", StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.OK, (await _session.PostAsync("gemini-3-pro-image", json)).Status);
        await _session.GenerateAsync("another prompt", "gemini-3-pro-image");

        var entry = Assert.Single(_session.Emulator.ReceivedRequests("job-7731"));
        Assert.Equal(("gemini-3-pro-image", "3:2", "2K", 200), (entry.Model, entry.AspectRatio, entry.ImageSize, entry.Status));
        Assert.Equal(
            [
                new ReceivedPart("image", null, "image/png", 800, 600),
                new ReceivedPart("text", "The images above are the products.", null, null, null),
                new ReceivedPart("image", null, "image/jpeg", 640, 480),
                new ReceivedPart("text", "job-7731 a chair in a sunlit loft", null, null, null),
            ],
            entry.Parts);
        Assert.Equal("The images above are the products.\njob-7731 a chair in a sunlit loft", entry.Prompt);

        var overHttp = Assert.Single(await _session.Client.ReceivedRequestsAsync("job-7731"));
        Assert.Equal(entry.Parts, overHttp.Parts);
        Assert.Equal((entry.Model, entry.AspectRatio, entry.ImageSize, entry.Outcome), (overHttp.Model, overHttp.AspectRatio, overHttp.ImageSize, overHttp.Outcome));
    }

    [Fact]
    public async Task Report_WithoutRatioOrSize_SaysNone_AndFiltersByModel()
    {
        await _session.GenerateAsync("job-12 a lamp", "gemini-3-pro-image");
        await _session.GenerateAsync("job-12 a lamp [emulate:500]", "gemini-2.5-flash-image");

        var pro = Assert.Single(_session.Emulator.ReceivedRequests("job-12", "gemini-3-pro-image"));
        var flash = Assert.Single(await _session.Client.ReceivedRequestsAsync("job-12", "gemini-2.5-flash-image"));

        Assert.Null(pro.AspectRatio);
        Assert.Null(pro.ImageSize);
        Assert.Equal(RequestOutcome.Success, pro.Outcome);
        Assert.Equal((500, FaultKind.Internal), (flash.Status, flash.Fault));
        Assert.Null(flash.AnsweredAspectRatio);
        Assert.Equal(2, _session.Emulator.ReceivedRequests("job-12").Count);
    }

    [Fact]
    public async Task ModelScopedDirective_RefusesOnThatModelOnly_SoTheFallbackAnswers()
    {
        const string prompt = "job-55 a vase [emulate:refuse@gemini-3-pro-image]";

        var pro = await _session.GenerateAsync(prompt, "gemini-3-pro-image");
        var fallback = await _session.GenerateAsync(prompt, "gemini-2.5-flash-image");

        Assert.Equal("STOP", pro.FinishReason);
        var text = Assert.Single(pro.Parts);
        Assert.True(text.TryGetProperty("text", out _));
        Assert.Equal(HttpStatusCode.OK, fallback.Status);
        Assert.Equal((64, 64), Png.Check(fallback.Image));
    }

    [Fact]
    public async Task ModelScopedDirective_CombinesWithACount()
    {
        const string prompt = "job-56 [emulate:503-once@gemini-3-pro-image]";

        var other = await _session.GenerateAsync(prompt, "gemini-2.5-flash-image");
        var first = await _session.GenerateAsync(prompt, "gemini-3-pro-image");
        var second = await _session.GenerateAsync(prompt, "gemini-3-pro-image");

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable, HttpStatusCode.OK), (other.Status, first.Status, second.Status));
    }
}
