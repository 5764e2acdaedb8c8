using System.Net;
using GenerationWorker.TestSupport;

namespace GenerationWorker.GeminiEmulator.Tests;

/// <summary>The shared xunit fixture hosts a working emulator that other test projects can use.</summary>
public sealed class FixtureTests(GeminiEmulatorFixture fixture) : IClassFixture<GeminiEmulatorFixture>
{
    [Fact]
    public async Task Fixture_ServesGenerateContentOnLoopback()
    {
        using var client = fixture.CreateClient();

        using var response = await client.PostGenerateContentAsync("gemini-3-pro-image", GeminiEmulatorRequests.Body("a kite", "2:3", "2K"));
        var reply = await Reply.ReadAsync(response);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal("127.0.0.1", fixture.BaseUrl.Host);
        Assert.NotEqual(0, fixture.BaseUrl.Port);
        Assert.Equal((42, 63), Png.Check(reply.Image));
        Assert.True(fixture.Stats.ForModel("gemini-3-pro-image").Successes >= 1);
    }
}
