using GenerationWorker.Grains.Gemini;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Tests.Gemini;

/// <summary>What a call leaves in the logs: model, status and duration; never the key or image data.</summary>
public sealed class GeminiLoggingTests
{
    [Fact]
    public async Task AnsweredCall_LogsModelStatusAndOutcome_NeverTheKeyOrImageData()
    {
        var fixture = Fixture.Load("thought-images-final-wins.json");
        var finalImageBase64 = Convert.ToBase64String(fixture.InlineImages()[2]);
        byte[] input = [.. Enumerable.Range(0, 600).Select(i => (byte)i)];
        var inputBase64 = Convert.ToBase64String(input);
        await using var server = await ReplayServer.StartAsync();
        server.Reply(fixture.Status, fixture.Body, fixture.ContentType);
        var logs = new CapturingLoggerProvider();
        var options = new GeminiOptions { ApiKey = TestGeminiClient.ApiKey, BaseUrl = server.BaseUrl };
        await using var services = new ServiceCollection()
            .AddLogging(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(logs))
            .AddGeminiClient(options).Services.BuildServiceProvider();

        var outcome = await services.GetRequiredService<IGeminiClient>().GenerateImageAsync(
            new GeminiImageRequest("gemini-3-pro-image", "a lighthouse", [new InputImage(input, "image/png")], null, null));

        Assert.IsType<GeminiOutcome.Image>(outcome);
        Assert.Contains(logs.Lines, line => line.Contains("Gemini gemini-3-pro-image answered 200 in", StringComparison.Ordinal)
                                            && line.Contains(": Image", StringComparison.Ordinal));
        Assert.All(logs.Lines, line =>
        {
            Assert.DoesNotContain(TestGeminiClient.ApiKey, line, StringComparison.Ordinal);
            Assert.DoesNotContain(finalImageBase64, line, StringComparison.Ordinal);
            Assert.DoesNotContain(inputBase64, line, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task TimedOutCall_LogsTheTimeout()
    {
        await using var server = await ReplayServer.StartAsync();
        server.Hold();
        var logs = new CapturingLoggerProvider();
        var options = new GeminiOptions { ApiKey = TestGeminiClient.ApiKey, BaseUrl = server.BaseUrl, Timeout = TimeSpan.FromMilliseconds(200) };
        await using var services = new ServiceCollection()
            .AddLogging(logging => logging.AddProvider(logs))
            .AddGeminiClient(options).Services.BuildServiceProvider();

        await services.GetRequiredService<IGeminiClient>().GenerateImageAsync(TestGeminiClient.TextOnly("a fox"));

        Assert.Contains(logs.Lines, line => line.StartsWith("Warning", StringComparison.Ordinal)
                                            && line.Contains("Gemini gemini-2.5-flash-image gave no answer within 0.2 s", StringComparison.Ordinal));
    }
}
