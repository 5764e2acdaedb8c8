using System.Net;
using System.Text.Json;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace GenerationWorker.GeminiEmulator.Tests;

/// <summary>Veo as Google serves it: a started long-running operation, polled until done, whose video is downloaded.</summary>
public sealed class VideoTests : IAsyncLifetime
{
    private const string Veo = "veo-3.1-generate-preview";
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 2, 20, 0, 0, TimeSpan.Zero));
    private EmulatorSession _session = null!;

    public async Task InitializeAsync() => _session = await EmulatorSession.StartAsync(o => o.TimeProvider = _time);

    public async Task DisposeAsync() => await _session.DisposeAsync();

    [Fact]
    public async Task Start_Poll_Download_GivesAnMp4OfTheRequestedDuration()
    {
        var start = await StartAsync(GeminiEmulatorRequests.VideoBody("job-v1 a turning watch", "9:16", "1080p", durationSeconds: 6));

        Assert.Equal(HttpStatusCode.OK, start.Status);
        var name = start.Json.GetProperty("name").GetString()!;
        Assert.Matches("^models/veo-3.1-generate-preview/operations/[a-z0-9]{12}$", name);
        Assert.Equal("name", Assert.Single(start.Json.EnumerateObject()).Name);

        var running = await PollAsync(name);
        Assert.Equal(HttpStatusCode.OK, running.Status);
        Assert.Equal(name, running.Json.GetProperty("name").GetString());
        Assert.False(running.Json.GetProperty("done").GetBoolean());
        Assert.False(running.Json.TryGetProperty("response", out _));

        _time.Advance(new EmulatorOptions().VideoGenerationTime);
        var done = await PollAsync(name);
        Assert.True(done.Json.GetProperty("done").GetBoolean());
        var response = done.Json.GetProperty("response");
        Assert.Equal("type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse", response.GetProperty("@type").GetString());
        var uri = new Uri(Assert.Single(response.GetProperty("generateVideoResponse").GetProperty("generatedSamples").EnumerateArray())
            .GetProperty("video").GetProperty("uri").GetString()!);
        Assert.Equal(_session.Emulator.BaseUrl.Authority, uri.Authority);
        Assert.Matches("^/v1beta/files/[a-z0-9]+:download$", uri.AbsolutePath);
        Assert.Equal("?alt=media", uri.Query);

        using var download = await _session.Client.GetAsync(uri);
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal("video/mp4", download.Content.Headers.ContentType!.MediaType);
        var mp4 = await download.Content.ReadAsByteArrayAsync();
        Assert.Equal(6.0, Mp4.CheckAndReadDuration(mp4));

        using var again = await _session.Client.GetAsync(uri);
        Assert.Equal(mp4, await again.Content.ReadAsByteArrayAsync());

        var stats = _session.Emulator.Stats.Video;
        Assert.Equal((1, 1, 2, 2), (stats.StartRequests, stats.Starts, stats.Polls, stats.Downloads));
        var operation = Assert.Single(stats.Operations);
        Assert.Equal((name, "9:16", "1080p", 6, 1, VideoEnd.Video), (operation.Name, operation.AspectRatio, operation.Resolution, operation.DurationSeconds, operation.SampleCount, operation.End));
        Assert.Equal(1, _session.Emulator.VideoStartsFor("job-v1"));
    }

    [Fact]
    public async Task Defaults_AreSixteenByNine720pEightSeconds_AndEverySampleHasAFile()
    {
        var start = await StartAsync(GeminiEmulatorRequests.VideoBody("job-v2 a lamp", sampleCount: 2), "veo-3.0-fast-generate-001");
        _time.Advance(TimeSpan.FromMinutes(1));

        var done = await PollAsync(start.Json.GetProperty("name").GetString()!);

        var samples = done.Json.GetProperty("response").GetProperty("generateVideoResponse").GetProperty("generatedSamples").EnumerateArray().ToArray();
        Assert.Equal(2, samples.Length);
        var files = new List<byte[]>();
        foreach (var sample in samples)
        {
            using var download = await _session.Client.GetAsync(sample.GetProperty("video").GetProperty("uri").GetString());
            files.Add(await download.Content.ReadAsByteArrayAsync());
            Assert.Equal(8.0, Mp4.CheckAndReadDuration(files[^1]));
        }

        Assert.NotEqual(files[0], files[1]);
        var operation = Assert.Single(_session.Emulator.Stats.Video.Operations);
        Assert.Equal(("16:9", "720p", 8, "veo-3.0-fast-generate-001"), (operation.AspectRatio, operation.Resolution, operation.DurationSeconds, operation.Model));
    }

    [Fact]
    public async Task ImageToVideo_ReportsTheStartImage()
    {
        var body = GeminiEmulatorRequests.VideoBody("job-v3 spin it", image: ("image/jpeg", InputImages.Jpeg(1280, 720)));

        Assert.Equal(HttpStatusCode.OK, (await StartAsync(body)).Status);

        var operation = Assert.Single(_session.Emulator.Stats.Video.Operations);
        Assert.Equal(new ReceivedPart("image", null, "image/jpeg", 1280, 720), operation.Image);
        Assert.Equal("job-v3 spin it", operation.Prompt);
    }

    [Fact]
    public async Task VideoFail_EndsTheOperationWithAnError()
    {
        var internalError = await StartAsync(GeminiEmulatorRequests.VideoBody("job-v4 [emulate:video-fail]"));
        var invalid = await StartAsync(GeminiEmulatorRequests.VideoBody("job-v4b [emulate:video-fail=INVALID_ARGUMENT]"));
        var name = internalError.Json.GetProperty("name").GetString()!;
        Assert.False((await PollAsync(name)).Json.GetProperty("done").GetBoolean());
        _time.Advance(TimeSpan.FromMinutes(1));

        var failed = await PollAsync(name);
        var failedInvalid = await PollAsync(invalid.Json.GetProperty("name").GetString()!);

        Assert.True(failed.Json.GetProperty("done").GetBoolean());
        Assert.False(failed.Json.TryGetProperty("response", out _));
        var error = failed.Json.GetProperty("error");
        Assert.Equal((13, "INTERNAL"), (error.GetProperty("code").GetInt32(), error.GetProperty("status").GetString()));
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        var invalidError = failedInvalid.Json.GetProperty("error");
        Assert.Equal((3, "INVALID_ARGUMENT"), (invalidError.GetProperty("code").GetInt32(), invalidError.GetProperty("status").GetString()));
        Assert.Equal(2, _session.Emulator.Stats.Video.Starts);
    }

    [Fact]
    public async Task VideoFiltered_EndsWithNoSamplesAndTheReasons()
    {
        var start = await StartAsync(GeminiEmulatorRequests.VideoBody("job-v5 [emulate:video-filtered]"));
        _time.Advance(TimeSpan.FromMinutes(1));

        var done = await PollAsync(start.Json.GetProperty("name").GetString()!);

        Assert.True(done.Json.GetProperty("done").GetBoolean());
        var response = done.Json.GetProperty("response");
        Assert.Equal("type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse", response.GetProperty("@type").GetString());
        var video = response.GetProperty("generateVideoResponse");
        Assert.False(video.TryGetProperty("generatedSamples", out _));
        Assert.Equal(1, video.GetProperty("raiMediaFilteredCount").GetInt32());
        Assert.False(string.IsNullOrEmpty(Assert.Single(video.GetProperty("raiMediaFilteredReasons").EnumerateArray()).GetString()));
    }

    [Fact]
    public async Task LostStart_CreatesAndCountsTheOperation_ButTheClientSeesATransportError()
    {
        var body = GeminiEmulatorRequests.VideoBody("job-v6 [emulate:lost-start-once]");

        await Assert.ThrowsAsync<HttpRequestException>(() => _session.Client.PostPredictLongRunningAsync(Veo, body));
        Assert.Equal(1, _session.Emulator.VideoStartsFor("job-v6"));
        var lost = Assert.Single(_session.Emulator.Stats.Video.Operations);
        Assert.True(lost.AnswerLost);

        // The lost operation runs to the end like any other.
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.True((await PollAsync(lost.Name)).Json.GetProperty("done").GetBoolean());

        var retry = await StartAsync(body);
        Assert.Equal(HttpStatusCode.OK, retry.Status);
        Assert.Equal(2, _session.Emulator.VideoStartsFor("job-v6"));
        Assert.Equal(1, _session.Emulator.Stats.Video.LostStartAnswers);
    }

    [Fact]
    public async Task QuotaRetryDirective_Answers429WithRetryInfo_AndCreatesNoOperation()
    {
        var throttled = await StartAsync(GeminiEmulatorRequests.VideoBody("job-v7 [emulate:429-retry=7s]"));

        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.Status);
        Assert.Equal("RESOURCE_EXHAUSTED", throttled.ErrorStatus);
        Assert.Equal("7s", throttled.Detail("RetryInfo").GetProperty("retryDelay").GetString());
        Assert.Equal(Veo, throttled.Detail("QuotaFailure").GetProperty("violations")[0].GetProperty("quotaDimensions").GetProperty("model").GetString());
        Assert.Equal(0, _session.Emulator.VideoStartsFor("job-v7"));
        Assert.Equal(1, _session.Emulator.Stats.Video.StartFaults);
    }

    [Fact]
    public async Task StartFaultDirectives_AnswerTheirErrorOnceThenStart()
    {
        var body = GeminiEmulatorRequests.VideoBody("job-v8 [emulate:503-once]");

        var first = await StartAsync(body);
        var second = await StartAsync(body);

        Assert.Equal((HttpStatusCode.ServiceUnavailable, HttpStatusCode.OK), (first.Status, second.Status));
        Assert.Equal(1, _session.Emulator.VideoStartsFor("job-v8"));
    }

    [Fact]
    public async Task PreconditionDirective_ForTheVeoModel_AnswersFailedPrecondition_AndCreatesNoOperation()
    {
        var refused = await StartAsync(GeminiEmulatorRequests.VideoBody($"job-v12 [emulate:precondition@{Veo}]"));
        var other = await StartAsync(GeminiEmulatorRequests.VideoBody($"job-v12 [emulate:precondition@{Veo}]"), "veo-3.0-generate-001");

        Assert.Equal((HttpStatusCode.BadRequest, "FAILED_PRECONDITION"), (refused.Status, refused.ErrorStatus));
        Assert.Equal("User location is not supported for the API use.", refused.ErrorMessage);
        Assert.Equal(HttpStatusCode.OK, other.Status);
        Assert.Equal(1, _session.Emulator.VideoStartsFor("job-v12"));
        Assert.Equal(1, _session.Emulator.Stats.Video.StartFaults);
    }

    [Fact]
    public async Task Download503Directive_FailsEachFileNTimesThenServesIt()
    {
        var start = await StartAsync(GeminiEmulatorRequests.VideoBody("job-v9 [emulate:download-503-x2]"));
        _time.Advance(TimeSpan.FromMinutes(1));
        var done = await PollAsync(start.Json.GetProperty("name").GetString()!);
        var uri = done.Json.GetProperty("response").GetProperty("generateVideoResponse").GetProperty("generatedSamples")[0]
            .GetProperty("video").GetProperty("uri").GetString();

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var download = await _session.Client.GetAsync(uri);
            statuses.Add(download.StatusCode);
            if (download.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                var error = JsonDocument.Parse(await download.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
                Assert.Equal("UNAVAILABLE", error.GetProperty("status").GetString());
            }
        }

        Assert.Equal([HttpStatusCode.ServiceUnavailable, HttpStatusCode.ServiceUnavailable, HttpStatusCode.OK], statuses);
        var video = _session.Emulator.Stats.Video;
        Assert.Equal((2, 1), (video.DownloadFailures, video.Downloads));
    }

    [Fact]
    public async Task VideoTimeDirective_ReplacesTheConfiguredGenerationTime()
    {
        var slow = await StartAsync(GeminiEmulatorRequests.VideoBody("job-v10 [emulate:video-time=30s]"));
        var fast = await StartAsync(GeminiEmulatorRequests.VideoBody("job-v10b [emulate:video-time=0s]"));
        var name = slow.Json.GetProperty("name").GetString()!;

        Assert.True((await PollAsync(fast.Json.GetProperty("name").GetString()!)).Json.GetProperty("done").GetBoolean());
        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.False((await PollAsync(name)).Json.GetProperty("done").GetBoolean());
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True((await PollAsync(name)).Json.GetProperty("done").GetBoolean());
    }

    [Fact]
    public async Task Quota_CountsStartsOnly_NotPollsOrDownloads()
    {
        await using var session = await EmulatorSession.StartAsync(o =>
        {
            o.TimeProvider = _time;
            o.RequestsPerWindowByModel[Veo] = 2;
        });
        var first = await session.Client.PostPredictLongRunningAsync(Veo, GeminiEmulatorRequests.VideoBody("job-v11 one"));
        var name = JsonDocument.Parse(await first.Content.ReadAsStringAsync()).RootElement.GetProperty("name").GetString();
        _time.Advance(TimeSpan.FromSeconds(10));
        for (var i = 0; i < 5; i++)
        {
            using var poll = await session.Client.GetAsync("v1beta/" + name);
            Assert.Equal(HttpStatusCode.OK, poll.StatusCode);
        }

        var second = await Reply.ReadAsync(await session.Client.PostPredictLongRunningAsync(Veo, GeminiEmulatorRequests.VideoBody("job-v11 two")));
        var third = await Reply.ReadAsync(await session.Client.PostPredictLongRunningAsync(Veo, GeminiEmulatorRequests.VideoBody("job-v11 three")));
        var otherModel = await Reply.ReadAsync(await session.Client.PostPredictLongRunningAsync("veo-3.0-generate-001", GeminiEmulatorRequests.VideoBody("job-v11 four")));

        Assert.Equal(HttpStatusCode.OK, second.Status);
        Assert.Equal(HttpStatusCode.TooManyRequests, third.Status);
        Assert.Equal("GenerateRequestsPerMinutePerProjectPerModel", third.Detail("QuotaFailure").GetProperty("violations")[0].GetProperty("quotaId").GetString());
        Assert.Equal("50s", third.Detail("RetryInfo").GetProperty("retryDelay").GetString());
        Assert.Equal(HttpStatusCode.OK, otherModel.Status);
        var video = session.Emulator.Stats.Video;
        Assert.Equal((4, 3, 1, 5), (video.StartRequests, video.Starts, video.QuotaRejections, video.Polls));
        Assert.Equal(0, session.Emulator.Stats.TotalRequests);
    }

    [Theory]
    [InlineData("""{"instances":[{"prompt":"a"}],"parameters":{"aspectRatio":"4:3"}}""", "Unsupported aspect ratio \"4:3\" for models/veo-3.1-generate-preview. Supported values: 16:9, 9:16.")]
    [InlineData("""{"instances":[{"prompt":"a"}],"parameters":{"resolution":"4k"}}""", "Unsupported resolution \"4k\"")]
    [InlineData("""{"instances":[{"prompt":"a"}],"parameters":{"durationSeconds":5}}""", "Unsupported durationSeconds 5")]
    [InlineData("""{"instances":[{"prompt":"a"}],"parameters":{"durationSeconds":"8"}}""", "Invalid value at 'parameters.duration_seconds' (TYPE_INT32)")]
    [InlineData("""{"instances":[{"prompt":"a"}],"parameters":{"sampleCount":0}}""", "Unsupported sampleCount 0")]
    [InlineData("""{"instances":[{"prompt":"a"}],"parameters":{"fps":24}}""", "`fps` isn't supported by this model.")]
    [InlineData("""{"instances":[{"prompt":"a","style":"noir"}]}""", "`style` isn't supported by this model.")]
    [InlineData("""{"instances":[]}""", "instances is not specified")]
    [InlineData("""{"instances":[{"prompt":""}]}""", "A prompt or an image is required")]
    [InlineData("""{"instances":[{"prompt":"a"}],"config":{}}""", "Unknown name \"config\": Cannot find field.")]
    [InlineData("""{"instances":[{"prompt":"a","image":{"bytesBase64Encoded":"aGVsbG8=","mimeType":"image/png"}}]}""", "Unable to process input image")]
    [InlineData("""{"instances":[{"prompt":"a","image":{"bytesBase64Encoded":"aGVsbG8=","mimeType":"image/gif"}}]}""", "Unsupported MIME type: image/gif")]
    [InlineData("""{"instances":[{"prompt":"a [emulate:refuse]"}]}""", "for generateContent; for Veo use video-fail or video-filtered")]
    [InlineData("""{"instances":[{"prompt":"a [emulate:video-fail=SLEEPY]"}]}""", "Unknown emulator directive [emulate:video-fail=SLEEPY]")]
    [InlineData("{", "Invalid JSON payload received.")]
    public async Task InvalidStart_Answers400WithTheProblem_AndStartsNothing(string body, string message)
    {
        var reply = await StartAsync(body);

        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Equal("INVALID_ARGUMENT", reply.ErrorStatus);
        Assert.Contains(message, reply.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal((1, 0, 1), (_session.Emulator.Stats.Video.StartRequests, _session.Emulator.Stats.Video.Starts, _session.Emulator.Stats.Video.ClientErrors));
    }

    [Theory]
    [InlineData("veo-2.0-generate-001")]
    [InlineData("gemini-3-pro-image")]
    public async Task UnknownVideoModel_Answers404(string model)
    {
        var reply = await StartAsync(GeminiEmulatorRequests.VideoBody("a"), model);

        Assert.Equal(HttpStatusCode.NotFound, reply.Status);
        Assert.Equal($"models/{model} is not found for API version v1beta, or is not supported for predictLongRunning. Call ListModels to see the list of available models and their supported methods.", reply.ErrorMessage);
    }

    [Fact]
    public async Task VeoModels_AreNotImageModels()
    {
        var reply = await _session.GenerateAsync("a", Veo);

        Assert.Equal(HttpStatusCode.NotFound, reply.Status);
    }

    [Fact]
    public async Task Keys_AreCheckedOnStartPollAndDownload()
    {
        var start = await StartAsync(GeminiEmulatorRequests.VideoBody("job-v12"));
        var name = start.Json.GetProperty("name").GetString()!;
        _time.Advance(TimeSpan.FromMinutes(1));
        var uri = (await PollAsync(name)).Json.GetProperty("response").GetProperty("generateVideoResponse")
            .GetProperty("generatedSamples")[0].GetProperty("video").GetProperty("uri").GetString()!;
        var path = new Uri(uri).PathAndQuery.TrimStart('/');

        var noKeyStart = await _session.SendAsync(HttpMethod.Post, GeminiEmulatorRequests.PredictLongRunningPath(Veo), GeminiEmulatorRequests.VideoBody("x"));
        var wrongKeyPoll = await _session.SendAsync(HttpMethod.Get, "v1beta/" + name, apiKey: "wrong");
        var noKeyDownload = await _session.SendAsync(HttpMethod.Get, path);

        Assert.Equal((HttpStatusCode.Forbidden, "PERMISSION_DENIED"), (noKeyStart.Status, noKeyStart.ErrorStatus));
        Assert.Equal((HttpStatusCode.BadRequest, "API key not valid. Please pass a valid API key."), (wrongKeyPoll.Status, wrongKeyPoll.ErrorMessage));
        Assert.Equal(HttpStatusCode.Forbidden, noKeyDownload.Status);
    }

    [Fact]
    public async Task UnknownOperationAndFile_Answer404()
    {
        var poll = await PollAsync("models/veo-3.1-generate-preview/operations/doesnotexist");
        var download = await _session.SendAsync(HttpMethod.Get, "v1beta/files/nothing:download?alt=media", apiKey: _session.Emulator.ApiKey);

        Assert.Equal((HttpStatusCode.NotFound, "NOT_FOUND"), (poll.Status, poll.ErrorStatus));
        Assert.Equal((HttpStatusCode.NotFound, "Requested entity was not found."), (download.Status, download.ErrorMessage));
    }

    [Fact]
    public async Task StatsOverHttp_CountStartsPerPrompt_AndResetKeepsOperationsAlive()
    {
        var name = (await StartAsync(GeminiEmulatorRequests.VideoBody("job-v13 a boat"))).Json.GetProperty("name").GetString()!;
        await StartAsync(GeminiEmulatorRequests.VideoBody("job-v14 a car"));

        Assert.Equal(1, await _session.Client.VideoStartsForAsync("job-v13"));
        Assert.Equal(2, await _session.Client.VideoStartsForAsync("job-v1"));
        var video = await _session.Client.ReadVideoStatsAsync();
        Assert.Equal(2, video.Starts);
        Assert.Equal(2, video.Operations.Count);
        var stats = JsonDocument.Parse(await _session.Client.GetStringAsync("_emulator/stats")).RootElement;
        Assert.Equal(2, stats.GetProperty("video").GetProperty("starts").GetInt32());

        _session.Emulator.Reset();

        Assert.Equal(0, _session.Emulator.Stats.Video.Starts);
        Assert.Equal(HttpStatusCode.OK, (await PollAsync(name)).Status);
    }

    private async Task<Reply> StartAsync(string body, string model = Veo) =>
        await Reply.ReadAsync(await _session.Client.PostPredictLongRunningAsync(model, body));

    private async Task<Reply> PollAsync(string name) => await Reply.ReadAsync(await _session.Client.GetAsync("v1beta/" + name));
}
