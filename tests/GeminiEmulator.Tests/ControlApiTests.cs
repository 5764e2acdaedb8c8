using System.Net;

namespace GenerationWorker.GeminiEmulator.Tests;

/// <summary>The control API lets another process script faults, read statistics and reset.</summary>
public sealed class ControlApiTests
{
    [Fact]
    public async Task Faults_RoundTrip_ThroughHttp()
    {
        await using var session = await EmulatorSession.StartAsync();

        var set = await session.SendAsync(HttpMethod.Post, "_emulator/faults", """{"unavailable":1,"seed":7,"next":[{"fault":"IMAGE_SAFETY","count":2}]}""");
        Assert.Equal(HttpStatusCode.OK, set.Status);
        Assert.Equal(2, set.Json.GetProperty("pendingScripted").GetInt32());

        var read = await session.SendAsync(HttpMethod.Get, "_emulator/faults");
        Assert.Equal(1.0, read.Json.GetProperty("settings").GetProperty("unavailable").GetDouble());
        Assert.Equal(7, read.Json.GetProperty("settings").GetProperty("seed").GetInt32());
        Assert.Equal(1.0, session.Emulator.Faults.Settings.Unavailable);

        Assert.Equal("IMAGE_SAFETY", (await session.GenerateAsync("x")).FinishReason);
        Assert.Equal("IMAGE_SAFETY", (await session.GenerateAsync("x")).FinishReason);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await session.GenerateAsync("x")).Status);

        var appended = await session.SendAsync(HttpMethod.Post, "_emulator/faults/next", """[{"fault":"ok"},{"fault":"500"}]""");
        Assert.Equal(2, appended.Json.GetProperty("pendingScripted").GetInt32());
        Assert.Equal(HttpStatusCode.OK, (await session.GenerateAsync("x")).Status);
        Assert.Equal(HttpStatusCode.InternalServerError, (await session.GenerateAsync("x")).Status);
    }

    [Theory]
    [InlineData("_emulator/faults", """{"unavailable":2}""")]
    [InlineData("_emulator/faults", """{"unavailable":0.6,"internalError":0.6}""")]
    [InlineData("_emulator/faults", """{"unavaliable":0.5}""")]
    [InlineData("_emulator/faults", """{"latencyMinMs":100}""")]
    [InlineData("_emulator/faults", """not json""")]
    [InlineData("_emulator/faults/next", """[{"fault":"boom"}]""")]
    [InlineData("_emulator/faults/next", """[{"fault":"503","count":0}]""")]
    public async Task InvalidFaults_AreRejected_AndChangeNothing(string path, string body)
    {
        await using var session = await EmulatorSession.StartAsync();

        var reply = await session.SendAsync(HttpMethod.Post, path, body);

        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Equal("INVALID_ARGUMENT", reply.ErrorStatus);
        Assert.Equal(HttpStatusCode.OK, (await session.GenerateAsync("x")).Status);
    }

    [Fact]
    public async Task Reset_ForgetsStatsQuotaScriptAndRestoresStartupFaults()
    {
        await using var session = await EmulatorSession.StartAsync(o =>
        {
            o.RequestsPerWindow = 1;
            o.Faults = new FaultSettings { Refusal = 1 };
        });
        Assert.Equal("STOP", (await session.GenerateAsync("x")).FinishReason);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await session.GenerateAsync("x")).Status);
        await session.SendAsync(HttpMethod.Post, "_emulator/faults", """{"next":[{"fault":"503","count":5}]}""");

        var reset = await session.SendAsync(HttpMethod.Post, "_emulator/reset");

        Assert.Equal(HttpStatusCode.NoContent, reset.Status);
        Assert.Equal(0, session.Emulator.Stats.TotalRequests);
        Assert.Equal(0, session.Emulator.Faults.PendingScripted);
        Assert.Equal(1.0, session.Emulator.Faults.Settings.Refusal);
        var after = await session.GenerateAsync("x");
        Assert.Equal(HttpStatusCode.OK, after.Status);
        Assert.Equal("STOP", after.FinishReason);
        Assert.Equal(1, session.Emulator.Stats.TotalRequests);
    }
}
