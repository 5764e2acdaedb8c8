using GenerationWorker.Grains.Gemini;

namespace GenerationWorker.Grains.Tests.Gemini;

/// <summary>Answers the recordings lack (Gemini 3 thought images, blocks, quota and server errors), from our fixtures.</summary>
public sealed class GeminiResponseTests
{
    [Fact]
    public async Task ThoughtImages_TheFinalImageWins()
    {
        var fixture = Fixture.Load("thought-images-final-wins.json");
        var images = fixture.InlineImages();
        Assert.Equal(3, images.Count);

        var (outcome, _) = await Replay.RunAsync(fixture);

        var image = Assert.IsType<GeminiOutcome.Image>(outcome);
        Assert.Equal(images[2], image.Bytes());
        Assert.Equal((16, 9), Png.Size(image.Bytes()));
        Assert.Equal("image/png", image.MimeType);
        Assert.Equal("Here is the lighthouse at dusk.", image.Text);
    }

    [Fact]
    public async Task ThoughtImageAfterTheFinalOne_DoesNotReplaceIt()
    {
        var fixture = Fixture.Load("thought-image-after-final.json");

        var (outcome, _) = await Replay.RunAsync(fixture);

        var image = Assert.IsType<GeminiOutcome.Image>(outcome);
        Assert.Equal(fixture.InlineImages()[0], image.Bytes());
        Assert.Equal((12, 12), Png.Size(image.Bytes()));
    }

    [Fact]
    public async Task OnlyThoughtImages_TheLastOneIsTaken()
    {
        var fixture = Fixture.Load("thought-images-only.json");

        var (outcome, _) = await Replay.RunAsync(fixture);

        var image = Assert.IsType<GeminiOutcome.Image>(outcome);
        Assert.Equal(fixture.InlineImages()[^1], image.Bytes());
        Assert.Equal("image/webp", image.MimeType);
        Assert.Null(image.Text);
    }

    [Fact]
    public async Task ImageSafetyWithoutParts_IsBlockedForGood()
    {
        var (outcome, _) = await Replay.RunAsync(Fixture.Load("image-safety-no-parts.json"));

        var blocked = Assert.IsType<GeminiOutcome.Blocked>(outcome);
        Assert.Equal("IMAGE_SAFETY", blocked.Reason);
        Assert.Null(blocked.Text);
        Assert.False(blocked.RetryOnce);
    }

    [Fact]
    public async Task PromptBlockedWithoutCandidates_CarriesTheBlockReason()
    {
        var (outcome, _) = await Replay.RunAsync(Fixture.Load("prompt-blocked-prohibited-content.json"));

        var blocked = Assert.IsType<GeminiOutcome.Blocked>(outcome);
        Assert.Equal("PROHIBITED_CONTENT", blocked.Reason);
        Assert.False(blocked.RetryOnce);
    }

    [Fact]
    public async Task StopWithTextOnly_IsNoImageAndKeepsTheRefusal()
    {
        var (outcome, _) = await Replay.RunAsync(Fixture.Load("stop-text-only-refusal.json"));

        var blocked = Assert.IsType<GeminiOutcome.Blocked>(outcome);
        Assert.Equal("NO_IMAGE", blocked.Reason);
        Assert.Equal("I can't create images of real people in that situation.", blocked.Text);
        Assert.True(blocked.RetryOnce);
    }

    [Fact]
    public async Task NoImageFinishReason_DeservesOneRetry()
    {
        var (outcome, _) = await Replay.RunAsync(Fixture.Load("no-image.json"));

        var blocked = Assert.IsType<GeminiOutcome.Blocked>(outcome);
        Assert.Equal("NO_IMAGE", blocked.Reason);
        Assert.True(blocked.RetryOnce);
    }

    [Fact]
    public async Task UnknownFinishReason_IsKeptAsSpelled()
    {
        var (outcome, _) = await Replay.RunAsync(Fixture.Load("unknown-finish-reason.json"));

        Assert.Equal("IMAGE_SOMETHING_NEW", Assert.IsType<GeminiOutcome.Blocked>(outcome).Reason);
    }

    [Fact]
    public async Task QuotaPerDay429_IsThrottledWithDelayAndFirstQuotaId()
    {
        var (outcome, _) = await Replay.RunAsync(Fixture.Load("quota-per-day-429.json"));

        var throttled = Assert.IsType<GeminiOutcome.Throttled>(outcome);
        Assert.Equal(TimeSpan.FromTicks(458_379_069), throttled.RetryDelay);
        Assert.Equal("GenerateRequestsPerDayPerProjectPerModel-FreeTier", throttled.QuotaId);
        Assert.True(throttled.PerDay);
        Assert.StartsWith("You exceeded your current quota", throttled.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task QuotaPerMinute429_IsThrottledForThirtySevenSeconds()
    {
        var (outcome, _) = await Replay.RunAsync(Fixture.Load("quota-per-minute-429.json"));

        var throttled = Assert.IsType<GeminiOutcome.Throttled>(outcome);
        Assert.Equal(TimeSpan.FromSeconds(37), throttled.RetryDelay);
        Assert.Equal("GenerateRequestsPerMinutePerProjectPerModel", throttled.QuotaId);
        Assert.False(throttled.PerDay);
    }

    [Fact]
    public async Task Bare429_IsThrottledWithoutDelayOrQuota()
    {
        var (outcome, _) = await Replay.RunAsync(Fixture.Load("bare-429.json"));

        var throttled = Assert.IsType<GeminiOutcome.Throttled>(outcome);
        Assert.Equal("Resource has been exhausted (e.g. check quota).", throttled.Message);
        Assert.Null(throttled.RetryDelay);
        Assert.Null(throttled.QuotaId);
        Assert.False(throttled.PerDay);
    }

    [Theory]
    [InlineData("overloaded-503.json", 503, "The model is overloaded. Please try again later.")]
    [InlineData("internal-500.json", 500, "An internal error has occurred.")]
    [InlineData("deadline-exceeded-504.json", 504, "Deadline expired before operation could complete.")]
    public async Task ServerErrors_AreRetryableWithGeminisMessage(string fixture, int status, string messageStart)
    {
        var (outcome, _) = await Replay.RunAsync(Fixture.Load(fixture));

        var retryable = Assert.IsType<GeminiOutcome.Retryable>(outcome);
        Assert.Equal(status, retryable.StatusCode);
        Assert.StartsWith(messageStart, retryable.Message, StringComparison.Ordinal);
        Assert.Null(retryable.RetryDelay);
    }

    [Fact]
    public async Task ServerErrorWithRetryInfo_CarriesTheDelay()
    {
        var (outcome, _) = await Replay.RunAsync(Fixture.Load("unavailable-retry-info-503.json"));

        var retryable = Assert.IsType<GeminiOutcome.Retryable>(outcome);
        Assert.Equal(TimeSpan.FromMilliseconds(500), retryable.RetryDelay);
    }

    [Theory]
    [InlineData(429)]
    [InlineData(503)]
    public async Task AServerRetryDelayOfDays_IsCappedAtOneHour(int status)
    {
        var body = $$$"""
            {"error":{"code":{{{status}}},"message":"wait","status":"UNAVAILABLE","details":[
              {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"864000s"}]}}
            """;

        var (outcome, _) = await Replay.RunAsync(status, body, "application/json");

        var delay = outcome switch
        {
            GeminiOutcome.Throttled throttled => throttled.RetryDelay,
            GeminiOutcome.Retryable retryable => retryable.RetryDelay,
            _ => throw new InvalidOperationException(outcome.ToString()),
        };
        Assert.Equal(TimeSpan.FromHours(1), delay);
    }

    [Theory]
    [InlineData("api-key-invalid-400.json", 400, true)]
    [InlineData("api-key-invalid-message-only-400.json", 400, true)]
    [InlineData("api-key-expired-400.json", 400, true)]
    [InlineData("failed-precondition-400.json", 400, false)]
    [InlineData("leaked-key-403.json", 403, true)]
    public async Task KeyAndAccountProblems_AreFatal_ServiceWideWhenTheKeyIsAtFault(string fixture, int status, bool serviceWide)
    {
        var (outcome, _) = await Replay.RunAsync(Fixture.Load(fixture));

        var fatal = Assert.IsType<GeminiOutcome.Fatal>(outcome);
        Assert.Equal((status, "gemini-2.5-flash-image", serviceWide), (fatal.StatusCode, fatal.Model, fatal.ServiceWide));
    }

    [Fact]
    public async Task Unauthorized_IsFatalEvenWithoutABody()
    {
        var (outcome, _) = await Replay.RunAsync(401, "", "text/plain");

        var fatal = Assert.IsType<GeminiOutcome.Fatal>(outcome);
        Assert.Equal(401, fatal.StatusCode);
        Assert.Contains("401", fatal.Message, StringComparison.Ordinal);
        Assert.True(fatal.ServiceWide);
    }

    [Fact]
    public async Task BadArgument400_IsRejected()
    {
        var (outcome, _) = await Replay.RunAsync(Fixture.Load("bad-aspect-ratio-400.json"));

        Assert.Contains("unsupported aspect ratio 7:3", Assert.IsType<GeminiOutcome.Rejected>(outcome).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("unparsable-502.json", 502)]
    [InlineData("html-error-page-500.json", 500)]
    public async Task UnreadableServerErrorBodies_AreRetryableByStatus(string fixture, int status)
    {
        var (outcome, _) = await Replay.RunAsync(Fixture.Load(fixture));

        var retryable = Assert.IsType<GeminiOutcome.Retryable>(outcome);
        Assert.Equal(status, retryable.StatusCode);
        Assert.DoesNotContain("<html", retryable.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task UnexpectedClientStatusWithUnreadableBody_IsRejected()
    {
        var (outcome, _) = await Replay.RunAsync(Fixture.Load("unparsable-418.json"));

        Assert.IsType<GeminiOutcome.Rejected>(outcome);
    }

    [Fact]
    public async Task Redirect_IsFatalBecauseTheBaseUrlIsWrong()
    {
        var (outcome, _) = await Replay.RunAsync(302, "", "text/plain");

        var fatal = Assert.IsType<GeminiOutcome.Fatal>(outcome);
        Assert.Equal((302, true), (fatal.StatusCode, fatal.ServiceWide));
    }

    [Fact]
    public async Task TruncatedSuccessBody_IsRetryable()
    {
        var (outcome, _) = await Replay.RunAsync(Fixture.Load("truncated-200.json"));

        Assert.Equal(200, Assert.IsType<GeminiOutcome.Retryable>(outcome).StatusCode);
    }

    [Fact]
    public async Task AnErrorMessageEchoingTheKey_IsRedacted()
    {
        var body = $$$"""{"error":{"code":400,"message":"Bad header value {{{TestGeminiClient.ApiKey}}}.","status":"INVALID_ARGUMENT"}}""";

        var (outcome, _) = await Replay.RunAsync(400, body);

        Assert.Equal("Bad header value [redacted].", Assert.IsType<GeminiOutcome.Rejected>(outcome).Message);
    }
}
