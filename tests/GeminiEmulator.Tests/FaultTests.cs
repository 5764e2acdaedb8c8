using System.Diagnostics;
using System.Net;
using GenerationWorker.TestSupport;

namespace GenerationWorker.GeminiEmulator.Tests;

/// <summary>Every fault kind, injected by prompt directive, by the scripted queue and by probability.</summary>
public sealed class FaultTests
{
    /// <summary>The kinds a probability can draw.</summary>
    public static TheoryData<string, FaultKind> DrawnKinds => new()
    {
        { "500", FaultKind.Internal },
        { "503", FaultKind.Unavailable },
        { "429", FaultKind.ResourceExhausted },
        { "429-retry", FaultKind.QuotaRetry },
        { "IMAGE_SAFETY", FaultKind.ImageSafety },
        { "NO_IMAGE", FaultKind.NoImage },
        { "refuse", FaultKind.Refusal },
        { "blocked", FaultKind.Blocked },
    };

    /// <summary>Every kind a directive or a script can inject: the drawn ones and FAILED_PRECONDITION.</summary>
    public static TheoryData<string, FaultKind> Kinds
    {
        get
        {
            var kinds = DrawnKinds;
            kinds.Add("precondition", FaultKind.Precondition);
            return kinds;
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task PromptDirective_InjectsTheFault(string directive, FaultKind kind)
    {
        await using var session = await EmulatorSession.StartAsync();

        var reply = await session.GenerateAsync($"a castle [emulate:{directive}]");

        AssertAnswers(kind, reply, TimeSpan.FromSeconds(30));
        Assert.Equal(kind, session.Emulator.Stats.Snapshot().RecentRequests.Single().Fault);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task ScriptedQueue_InjectsTheFaultForTheNextRequestsOnly(string name, FaultKind kind)
    {
        await using var session = await EmulatorSession.StartAsync();
        session.Emulator.Faults.Enqueue([new ScriptedFault(name, 2)]);

        AssertAnswers(kind, await session.GenerateAsync("a castle"), TimeSpan.FromSeconds(30));
        AssertAnswers(kind, await session.GenerateAsync("a castle"), TimeSpan.FromSeconds(30));
        AssertAnswers(FaultKind.None, await session.GenerateAsync("a castle"), TimeSpan.Zero);
        Assert.Equal(0, session.Emulator.Faults.PendingScripted);
    }

    [Theory]
    [MemberData(nameof(DrawnKinds))]
    public async Task Probability_OfOne_InjectsTheFaultEveryTime(string name, FaultKind kind)
    {
        _ = name;
        var settings = kind switch
        {
            FaultKind.Internal => new FaultSettings { InternalError = 1 },
            FaultKind.Unavailable => new FaultSettings { Unavailable = 1 },
            FaultKind.ResourceExhausted => new FaultSettings { ResourceExhausted = 1 },
            FaultKind.QuotaRetry => new FaultSettings { QuotaRetry = 1, RetryDelaySeconds = 2.5 },
            FaultKind.ImageSafety => new FaultSettings { ImageSafety = 1 },
            FaultKind.NoImage => new FaultSettings { NoImage = 1 },
            FaultKind.Refusal => new FaultSettings { Refusal = 1 },
            _ => new FaultSettings { Blocked = 1 },
        };
        await using var session = await EmulatorSession.StartAsync(o => o.Faults = settings);

        for (var i = 0; i < 3; i++)
        {
            AssertAnswers(kind, await session.GenerateAsync("a castle " + i), TimeSpan.FromSeconds(2.5));
        }
    }

    [Fact]
    public async Task Directive_Once_FailsTheFirstRequestOfThatExactPromptOnly()
    {
        await using var session = await EmulatorSession.StartAsync();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await session.GenerateAsync("tower [emulate:503-once]")).Status);
        Assert.Equal(HttpStatusCode.OK, (await session.GenerateAsync("tower [emulate:503-once]")).Status);
        Assert.Equal(HttpStatusCode.OK, (await session.GenerateAsync("tower [emulate:503-once]")).Status);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await session.GenerateAsync("bridge [emulate:503-once]")).Status);

        session.Emulator.Reset();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await session.GenerateAsync("tower [emulate:503-once]")).Status);
    }

    [Fact]
    public async Task Directive_Times_FailsTheFirstNRequests()
    {
        await using var session = await EmulatorSession.StartAsync();

        Assert.Equal(HttpStatusCode.InternalServerError, (await session.GenerateAsync("[emulate:500-x2] tower")).Status);
        Assert.Equal(HttpStatusCode.InternalServerError, (await session.GenerateAsync("[emulate:500-x2] tower")).Status);
        Assert.Equal(HttpStatusCode.OK, (await session.GenerateAsync("[emulate:500-x2] tower")).Status);
    }

    [Fact]
    public async Task Directive_RetryDelay_IsSentInRetryInfo()
    {
        await using var session = await EmulatorSession.StartAsync();

        var reply = await session.GenerateAsync("tower [emulate:429-retry=7.25s]");

        Assert.Equal(HttpStatusCode.TooManyRequests, reply.Status);
        Assert.Equal("7.25s", reply.Detail("RetryInfo").GetProperty("retryDelay").GetString());
    }

    [Fact]
    public async Task Directive_Delay_WaitsBeforeAnswering()
    {
        await using var session = await EmulatorSession.StartAsync();

        var clock = Stopwatch.StartNew();
        var reply = await session.GenerateAsync("tower [emulate:delay=250ms]");

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.True(clock.ElapsedMilliseconds >= 240, $"answered after {clock.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task ConfiguredLatency_DelaysEveryAnswer_DirectivesCombine()
    {
        await using var session = await EmulatorSession.StartAsync(o => o.Faults = new FaultSettings { LatencyMs = 150 });

        var clock = Stopwatch.StartNew();
        var reply = await session.GenerateAsync("tower [emulate:503,delay=0ms]");
        var fast = clock.ElapsedMilliseconds;
        clock.Restart();
        await session.GenerateAsync("tower");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, reply.Status);
        Assert.True(clock.ElapsedMilliseconds >= 140, $"answered after {clock.ElapsedMilliseconds} ms");
        Assert.True(fast < 140, $"the delay=0ms directive still waited {fast} ms");
    }

    [Fact]
    public async Task Hang_NeverAnswers_UntilTheClientGivesUp()
    {
        await using var session = await EmulatorSession.StartAsync();
        using var giveUp = new CancellationTokenSource();

        var hanging = session.PostAsync(EmulatorSession.Model, """{"contents":[{"parts":[{"text":"x [emulate:hang]"}]}]}""", giveUp.Token);
        await Eventually.UntilAsync(() => session.Emulator.Stats.InFlight == 1, EmulatorSession.WaitLimit, "the hanging request in flight", EmulatorSession.PollInterval);
        Assert.False(hanging.IsCompleted);
        await session.GenerateAsync("meanwhile others are answered");
        Assert.False(hanging.IsCompleted);

        await giveUp.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => hanging);
        await Eventually.UntilAsync(() => session.Emulator.Stats.ForModel(EmulatorSession.Model).Abandoned == 1, EmulatorSession.WaitLimit, "the hanging request counted as abandoned", EmulatorSession.PollInterval);
    }

    [Fact]
    public async Task Hang_IsCutOffWhenTheEmulatorStops()
    {
        var session = await EmulatorSession.StartAsync();
        var hanging = session.PostAsync(EmulatorSession.Model, """{"contents":[{"parts":[{"text":"x [emulate:hang]"}]}]}""");
        await Eventually.UntilAsync(() => session.Emulator.Stats.InFlight == 1, EmulatorSession.WaitLimit, "the hanging request in flight", EmulatorSession.PollInterval);

        await session.DisposeAsync();

        await Assert.ThrowsAnyAsync<Exception>(() => hanging);
    }

    [Fact]
    public async Task Probabilities_AreReproducibleForASeed()
    {
        var settings = new FaultSettings { Unavailable = 0.3, InternalError = 0.2, Seed = 42 };
        var first = await StatusesAsync(settings);
        var second = await StatusesAsync(settings);
        var otherSeed = await StatusesAsync(settings with { Seed = 43 });

        Assert.Equal(first, second);
        Assert.NotEqual(first, otherSeed);
        Assert.Contains(HttpStatusCode.OK, first);
        Assert.Contains(HttpStatusCode.ServiceUnavailable, first);
        Assert.Contains(HttpStatusCode.InternalServerError, first);
    }

    [Fact]
    public async Task PreconditionDirective_ForAModel_AnswersGooglesFailedPrecondition_OnlyToThatModel()
    {
        await using var session = await EmulatorSession.StartAsync();
        const string prompt = "a castle [emulate:precondition@gemini-3-pro-image]";

        var refused = await session.GenerateAsync(prompt, "gemini-3-pro-image");
        var other = await session.GenerateAsync(prompt, "gemini-2.5-flash-image");

        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Equal("application/json; charset=UTF-8", refused.ContentType);
        Assert.Equal(
            """{"error":{"code":400,"message":"User location is not supported for the API use.","status":"FAILED_PRECONDITION"}}""",
            refused.Text);
        Assert.Equal(HttpStatusCode.OK, other.Status);
        Png.Check(other.Image);
        var stats = session.Emulator.Stats.Snapshot();
        Assert.Equal(1, stats.Models["gemini-3-pro-image"].Faults);
    }

    [Fact]
    public async Task DirectiveBeatsScript_ScriptBeatsProbability()
    {
        await using var session = await EmulatorSession.StartAsync(o => o.Faults = new FaultSettings { Unavailable = 1 });
        session.Emulator.Faults.Enqueue(FaultKind.Internal);

        Assert.Equal(HttpStatusCode.OK, (await session.GenerateAsync("x [emulate:refuse]")).Status);
        Assert.Equal(HttpStatusCode.InternalServerError, (await session.GenerateAsync("x")).Status);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await session.GenerateAsync("x")).Status);
    }

    private static async Task<HttpStatusCode[]> StatusesAsync(FaultSettings settings)
    {
        await using var session = await EmulatorSession.StartAsync(o => o.Faults = settings);
        var statuses = new HttpStatusCode[30];
        for (var i = 0; i < statuses.Length; i++)
        {
            statuses[i] = (await session.GenerateAsync("x")).Status;
        }

        return statuses;
    }

    private static void AssertAnswers(FaultKind kind, Reply reply, TimeSpan retryDelay)
    {
        switch (kind)
        {
            case FaultKind.None:
                Assert.Equal(HttpStatusCode.OK, reply.Status);
                Png.Check(reply.Image);
                break;
            case FaultKind.Internal:
                Assert.Equal((HttpStatusCode.InternalServerError, "INTERNAL"), (reply.Status, reply.ErrorStatus));
                break;
            case FaultKind.Unavailable:
                Assert.Equal((HttpStatusCode.ServiceUnavailable, "UNAVAILABLE"), (reply.Status, reply.ErrorStatus));
                Assert.Equal("The model is overloaded. Please try again later.", reply.ErrorMessage);
                break;
            case FaultKind.ResourceExhausted:
                Assert.Equal((HttpStatusCode.TooManyRequests, "RESOURCE_EXHAUSTED"), (reply.Status, reply.ErrorStatus));
                Assert.Equal("Resource has been exhausted (e.g. check quota).", reply.ErrorMessage);
                Assert.False(reply.Error.TryGetProperty("details", out _));
                break;
            case FaultKind.QuotaRetry:
                Assert.Equal((HttpStatusCode.TooManyRequests, "RESOURCE_EXHAUSTED"), (reply.Status, reply.ErrorStatus));
                Assert.True(ProtoDuration.TryParse(reply.Detail("RetryInfo").GetProperty("retryDelay").GetString()!, out var delay));
                Assert.Equal(retryDelay, delay);
                Assert.Equal("GenerateRequestsPerMinutePerProjectPerModel", reply.Detail("QuotaFailure").GetProperty("violations")[0].GetProperty("quotaId").GetString());
                break;
            case FaultKind.ImageSafety or FaultKind.NoImage:
                Assert.Equal(HttpStatusCode.OK, reply.Status);
                Assert.Equal(kind == FaultKind.ImageSafety ? "IMAGE_SAFETY" : "NO_IMAGE", reply.FinishReason);
                Assert.Empty(reply.Parts);
                break;
            case FaultKind.Refusal:
                Assert.Equal(HttpStatusCode.OK, reply.Status);
                Assert.Equal("STOP", reply.FinishReason);
                Assert.True(Assert.Single(reply.Parts).TryGetProperty("text", out _));
                break;
            case FaultKind.Blocked:
                Assert.Equal(HttpStatusCode.OK, reply.Status);
                Assert.False(reply.Json.TryGetProperty("candidates", out _));
                Assert.Equal("PROHIBITED_CONTENT", reply.Json.GetProperty("promptFeedback").GetProperty("blockReason").GetString());
                Assert.True(reply.Json.GetProperty("usageMetadata").GetProperty("promptTokenCount").GetInt32() > 0);
                break;
            case FaultKind.Precondition:
                Assert.Equal((HttpStatusCode.BadRequest, "FAILED_PRECONDITION"), (reply.Status, reply.ErrorStatus));
                Assert.Equal("User location is not supported for the API use.", reply.ErrorMessage);
                Assert.False(reply.Error.TryGetProperty("details", out _));
                break;
            default:
                Assert.Fail("unexpected kind " + kind);
                break;
        }
    }
}
