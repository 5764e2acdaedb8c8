using System.Net;
using Microsoft.Extensions.Time.Testing;

namespace GenerationWorker.GeminiEmulator.Tests;

/// <summary>The per-model quota: N requests in any sliding window, then 429 with the true time until a slot frees.</summary>
public sealed class QuotaTests
{
    // 12:00 in Los Angeles (PST) on a day without a DST change.
    private static readonly DateTimeOffset Noon = new(2026, 3, 2, 20, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task OverTheLimit_Answers429WithQuotaFailureAndTheExactRetryDelay()
    {
        var time = new FakeTimeProvider(Noon);
        await using var session = await EmulatorSession.StartAsync(o => Quota(o, time, perWindow: 3));

        Assert.Equal(HttpStatusCode.OK, (await session.GenerateAsync("a")).Status);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.OK, (await session.GenerateAsync("b")).Status);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.OK, (await session.GenerateAsync("c")).Status);
        time.Advance(TimeSpan.FromSeconds(12.5));

        var rejected = await session.GenerateAsync("d");

        Assert.Equal(HttpStatusCode.TooManyRequests, rejected.Status);
        Assert.Equal("RESOURCE_EXHAUSTED", rejected.ErrorStatus);
        Assert.StartsWith("You exceeded your current quota, please check your plan and billing details.", rejected.ErrorMessage);
        Assert.EndsWith("Please retry in 27.5s.", rejected.ErrorMessage);
        var violation = rejected.Detail("QuotaFailure").GetProperty("violations")[0];
        Assert.Equal("generativelanguage.googleapis.com/generate_content_free_tier_requests", violation.GetProperty("quotaMetric").GetString());
        Assert.Equal("GenerateRequestsPerMinutePerProjectPerModel", violation.GetProperty("quotaId").GetString());
        Assert.Equal("global", violation.GetProperty("quotaDimensions").GetProperty("location").GetString());
        Assert.Equal(EmulatorSession.Model, violation.GetProperty("quotaDimensions").GetProperty("model").GetString());
        Assert.Equal("3", violation.GetProperty("quotaValue").GetString());
        Assert.Equal("27.5s", rejected.Detail("RetryInfo").GetProperty("retryDelay").GetString());
        Assert.False(rejected.Json.GetProperty("error").TryGetProperty("retry-after", out _));
    }

    [Fact]
    public async Task TheSlotFrees_ExactlyWhenRetryDelayHasPassed()
    {
        var time = new FakeTimeProvider(Noon);
        await using var session = await EmulatorSession.StartAsync(o => Quota(o, time, perWindow: 2));
        await session.GenerateAsync("a");
        time.Advance(TimeSpan.FromSeconds(20));
        await session.GenerateAsync("b");
        time.Advance(TimeSpan.FromSeconds(5));

        var first = await session.GenerateAsync("c");
        Assert.True(ProtoDuration.TryParse(first.Detail("RetryInfo").GetProperty("retryDelay").GetString()!, out var delay));
        Assert.Equal(TimeSpan.FromSeconds(35), delay);

        time.Advance(delay - TimeSpan.FromTicks(1));
        var early = await session.GenerateAsync("c");
        Assert.Equal(HttpStatusCode.TooManyRequests, early.Status);
        Assert.Equal("0.0000001s", early.Detail("RetryInfo").GetProperty("retryDelay").GetString());

        time.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(HttpStatusCode.OK, (await session.GenerateAsync("c")).Status);

        // Rejected requests did not count: the next slot frees when "b" (t=20 s) leaves the window, at t=80 s.
        var next = await session.GenerateAsync("d");
        Assert.Equal("20s", next.Detail("RetryInfo").GetProperty("retryDelay").GetString());
    }

    [Fact]
    public async Task Limits_ArePerModel_AndOverridable()
    {
        var time = new FakeTimeProvider(Noon);
        await using var session = await EmulatorSession.StartAsync(o =>
        {
            Quota(o, time, perWindow: 1);
            o.RequestsPerWindowByModel["gemini-3-pro-image"] = 2;
        });

        Assert.Equal(HttpStatusCode.OK, (await session.GenerateAsync("a", "gemini-2.5-flash-image")).Status);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await session.GenerateAsync("a", "gemini-2.5-flash-image")).Status);
        Assert.Equal(HttpStatusCode.OK, (await session.GenerateAsync("a", "gemini-3-pro-image")).Status);
        Assert.Equal(HttpStatusCode.OK, (await session.GenerateAsync("a", "gemini-3-pro-image")).Status);
        var third = await session.GenerateAsync("a", "gemini-3-pro-image");
        Assert.Equal("2", third.Detail("QuotaFailure").GetProperty("violations")[0].GetProperty("quotaValue").GetString());

        var stats = session.Emulator.Stats.ForModel("gemini-3-pro-image");
        Assert.Equal((3L, 2L, 1L), (stats.Requests, stats.Successes, stats.QuotaRejections));
    }

    [Fact]
    public async Task PerDayLimit_Answers429UntilPacificMidnight()
    {
        var time = new FakeTimeProvider(Noon);
        await using var session = await EmulatorSession.StartAsync(o =>
        {
            o.TimeProvider = time;
            o.RequestsPerDay = 2;
        });
        await session.GenerateAsync("a");
        await session.GenerateAsync("b");

        var rejected = await session.GenerateAsync("c");

        Assert.Equal(HttpStatusCode.TooManyRequests, rejected.Status);
        Assert.Equal("GenerateRequestsPerDayPerProjectPerModel", rejected.Detail("QuotaFailure").GetProperty("violations")[0].GetProperty("quotaId").GetString());
        Assert.Equal("43200s", rejected.Detail("RetryInfo").GetProperty("retryDelay").GetString());

        time.Advance(TimeSpan.FromHours(12));
        Assert.Equal(HttpStatusCode.OK, (await session.GenerateAsync("c")).Status);
    }

    [Fact]
    public async Task InjectedThrottles_DoNotCountTowardTheWindow()
    {
        var time = new FakeTimeProvider(Noon);
        await using var session = await EmulatorSession.StartAsync(o => Quota(o, time, perWindow: 1));
        session.Emulator.Faults.Enqueue(FaultKind.ResourceExhausted);
        session.Emulator.Faults.Enqueue(FaultKind.QuotaRetry);

        Assert.Equal(HttpStatusCode.TooManyRequests, (await session.GenerateAsync("a")).Status);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await session.GenerateAsync("a")).Status);
        Assert.Equal(HttpStatusCode.OK, (await session.GenerateAsync("a")).Status);

        var stats = session.Emulator.Stats.ForModel(EmulatorSession.Model);
        Assert.Equal((2L, 0L, 1L), (stats.InjectedThrottles, stats.QuotaRejections, stats.Successes));
    }

    [Fact]
    public async Task NoLimit_AdmitsEverything()
    {
        var time = new FakeTimeProvider(Noon);
        await using var session = await EmulatorSession.StartAsync(o => o.TimeProvider = time);

        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await session.GenerateAsync("a")).Status);
        }
    }

    private static void Quota(EmulatorOptions options, TimeProvider time, int perWindow)
    {
        options.TimeProvider = time;
        options.RequestsPerWindow = perWindow;
        options.Window = TimeSpan.FromSeconds(60);
    }
}
