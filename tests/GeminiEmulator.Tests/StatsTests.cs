using System.Net;
using System.Text.Json;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace GenerationWorker.GeminiEmulator.Tests;

/// <summary>The statistics count what a client actually sent: windows over exact arrival times, concurrency.</summary>
public sealed class StatsTests
{
    private static readonly DateTimeOffset MinuteStart = new(2026, 3, 2, 20, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task MaxInAnyWindow_CountsSlidingWindowsNotCalendarMinutes()
    {
        var time = new FakeTimeProvider(MinuteStart);
        await using var session = await EmulatorSession.StartAsync(o => o.TimeProvider = time);

        // Three in the first calendar minute, two in the next: no calendar minute holds more than three, but the
        // window (2 s, 62 s] holds all five.
        foreach (var second in new[] { 50, 55, 58, 61, 62 })
        {
            time.SetUtcNow(MinuteStart.AddSeconds(second));
            await session.GenerateAsync("a");
        }

        time.SetUtcNow(MinuteStart.AddSeconds(200));
        await session.GenerateAsync("a");

        var stats = session.Emulator.Stats.ForModel(EmulatorSession.Model);
        Assert.Equal(5, stats.MaxRequestsInAnyWindow);
        Assert.Equal(6, stats.Requests);
        Assert.Equal([50L, 55L, 58L, 61L, 62L, 200L], stats.PerSecond.Select(s => s.UnixSecond - MinuteStart.ToUnixTimeSeconds()));
    }

    [Fact]
    public async Task MaxInAnyWindow_ExcludesARequestExactlyOneWindowOlder()
    {
        var time = new FakeTimeProvider(MinuteStart);
        await using var session = await EmulatorSession.StartAsync(o => o.TimeProvider = time);

        foreach (var second in new[] { 0, 30, 60 })
        {
            time.SetUtcNow(MinuteStart.AddSeconds(second));
            await session.GenerateAsync("a");
        }

        // The window ending at 60 s is (0 s, 60 s]: the request at exactly 0 s has left it.
        Assert.Equal(2, session.Emulator.Stats.ForModel(EmulatorSession.Model).MaxRequestsInAnyWindow);

        // One tick less and the oldest is still inside: 100 s, 130 s and 160 s - 1 tick share a window.
        foreach (var at in new[] { MinuteStart.AddSeconds(100), MinuteStart.AddSeconds(130), MinuteStart.AddSeconds(160).AddTicks(-1) })
        {
            time.SetUtcNow(at);
            await session.GenerateAsync("a");
        }

        Assert.Equal(3, session.Emulator.Stats.ForModel(EmulatorSession.Model).MaxRequestsInAnyWindow);
    }

    [Fact]
    public async Task MaxInAnyWindow_IncludesRejectedRequests_AndUsesTheConfiguredWindow()
    {
        var time = new FakeTimeProvider(MinuteStart);
        await using var session = await EmulatorSession.StartAsync(o =>
        {
            o.TimeProvider = time;
            o.Window = TimeSpan.FromSeconds(10);
            o.RequestsPerWindow = 2;
        });

        for (var i = 0; i < 4; i++)
        {
            await session.GenerateAsync("a");
            time.Advance(TimeSpan.FromSeconds(3));
        }

        time.Advance(TimeSpan.FromSeconds(30));
        await session.GenerateAsync("a");

        var stats = session.Emulator.Stats.ForModel(EmulatorSession.Model);
        Assert.Equal(4, stats.MaxRequestsInAnyWindow);
        Assert.Equal(2, stats.QuotaRejections);
        Assert.Equal(10, session.Emulator.Stats.Snapshot().WindowSeconds);
    }

    [Fact]
    public async Task InFlight_CountsConcurrentRequests_AndRemembersTheMaximum()
    {
        await using var session = await EmulatorSession.StartAsync();
        session.Emulator.Faults.Enqueue(FaultKind.Hang, 4);
        using var cancel = new CancellationTokenSource();
        var pending = Enumerable.Range(0, 4)
            .Select(i => session.Client.PostAsync(
                "v1beta/models/gemini-2.5-flash-image:generateContent",
                new StringContent("""{"contents":[{"parts":[{"text":"hold"}]}]}"""),
                cancel.Token))
            .ToArray();

        await Eventually.UntilAsync(() => session.Emulator.Stats.InFlight == 4, EmulatorSession.WaitLimit, "the 4 held requests in flight", EmulatorSession.PollInterval);
        Assert.Equal(4, session.Emulator.Stats.MaxInFlight);

        await cancel.CancelAsync();
        foreach (var request in pending)
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        }

        await Eventually.UntilAsync(() => session.Emulator.Stats.InFlight == 0, EmulatorSession.WaitLimit, "no request in flight after the cancel", EmulatorSession.PollInterval);
        Assert.Equal(4, session.Emulator.Stats.MaxInFlight);
        Assert.Equal(4, session.Emulator.Stats.ForModel(EmulatorSession.Model).Abandoned);
        Assert.All(session.Emulator.Stats.Snapshot().RecentRequests, r => Assert.Equal((0, RequestOutcome.Abandoned), (r.Status, r.Outcome)));
    }

    [Fact]
    public async Task StatsEndpoint_ServesTheSameNumbersAsJson()
    {
        await using var session = await EmulatorSession.StartAsync();
        await session.GenerateAsync("one", "gemini-3-pro-image", "16:9", "2K");
        await session.GenerateAsync("two [emulate:503]", "gemini-3-pro-image");
        await session.GenerateAsync("three", "no-such-model");

        var reply = await session.SendAsync(HttpMethod.Get, "_emulator/stats");

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal(3, reply.Json.GetProperty("totalRequests").GetInt64());
        var pro = reply.Json.GetProperty("models").GetProperty("gemini-3-pro-image");
        Assert.Equal(2, pro.GetProperty("requests").GetInt64());
        Assert.Equal(1, pro.GetProperty("successes").GetInt64());
        Assert.Equal(1, pro.GetProperty("faults").GetInt64());
        Assert.Equal(2, pro.GetProperty("maxRequestsInAnyWindow").GetInt32());
        Assert.Equal(1, reply.Json.GetProperty("models").GetProperty("no-such-model").GetProperty("clientErrors").GetInt64());
        var log = reply.Json.GetProperty("recentRequests").EnumerateArray().ToArray();
        Assert.Equal(3, log.Length);
        Assert.Equal("one", log[0].GetProperty("promptStart").GetString());
        Assert.Equal("16:9", log[0].GetProperty("aspectRatio").GetString());
        Assert.Equal("2K", log[0].GetProperty("imageSize").GetString());
        Assert.Equal(200, log[0].GetProperty("status").GetInt32());
        Assert.Equal("Unavailable", log[1].GetProperty("fault").GetString());
        Assert.Equal(503, log[1].GetProperty("status").GetInt32());
        Assert.Equal(JsonValueKind.String, log[2].GetProperty("arrivedAt").ValueKind);
    }

    [Fact]
    public async Task RequestLog_KeepsThePromptStartAndIsBounded()
    {
        await using var session = await EmulatorSession.StartAsync(o => o.RequestLogCapacity = 3);
        var longPrompt = new string('p', 200);
        for (var i = 0; i < 5; i++)
        {
            await session.GenerateAsync(i + longPrompt);
        }

        var log = session.Emulator.Stats.Snapshot().RecentRequests;
        Assert.Equal(3, log.Count);
        Assert.Equal(["2", "3", "4"], log.Select(e => e.PromptStart[..1]));
        Assert.All(log, e => Assert.Equal(80, e.PromptStart.Length));
    }
}
