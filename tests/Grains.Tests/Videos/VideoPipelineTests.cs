using System.Text;
using System.Text.Json;
using GenerationWorker.Grains.Assets;
using GenerationWorker.Grains.Storage;
using GenerationWorker.Grains.Videos;
using GenerationWorker.TestSupport;
using Xunit.Abstractions;

namespace GenerationWorker.Grains.Tests.Videos;

public sealed class VideoPipelineTests(VideoPipelineFixture fixture, ITestOutputHelper output) : IClassFixture<VideoPipelineFixture>
{
    private readonly JobTable _jobs = fixture.Jobs;

    [Fact]
    public async Task VideoJob_StartsOnce_PollsItsOperation_StoresTheMp4AtItsAssetKey_AndCompletes()
    {
        var tag = Tag();
        var id = await InsertAsync(
            $"a slow turntable of the bottle {tag} [emulate:video-time=24s]",
            new { aspectRatio = "9:16", resolution = "1080p" },
            productIds: ["prod-1"]);

        var progress = await SampleProgressUntilFinalAsync(id, TimeSpan.FromSeconds(60));
        var job = await _jobs.GetAsync(id);

        Assert.Equal("completed", job.Status);
        Assert.Equal(1, job.Attempts);
        Assert.Equal(100, job.Progress);
        Assert.Null(job.Error);
        var operation = fixture.Operation(tag);
        output.WriteLine($"operation {operation.Name}: {operation.Polls} polls, {operation.Downloads} download; progress seen: {string.Join(", ", progress)}");
        Assert.True(operation.Polls >= 19, $"{operation.Polls} polls");
        Assert.Equal(1, operation.Downloads);
        Assert.Equal("9:16", operation.AspectRatio);
        Assert.Equal("1080p", operation.Resolution);
        Assert.NotNull(operation.Image);
        Assert.StartsWith(VideoRequest.GuidelinesHeader, operation.Prompt, StringComparison.Ordinal);
        Assert.Contains("Aspect ratio: 9:16\nResolution: 1080p\n", operation.Prompt, StringComparison.Ordinal);
        Assert.EndsWith("User prompt:\n" + $"a slow turntable of the bottle {tag} [emulate:video-time=24s]", operation.Prompt, StringComparison.Ordinal);

        // Progress: 10 once started, +5 per poll, never above 95 before the video is stored, then 100.
        Assert.Equal(progress.Order(), progress);
        Assert.Contains(10, progress);
        Assert.Contains(95, progress);
        Assert.Equal(100, progress[^1]);
        Assert.All(progress.Where(p => p > 0 && p < 100), p => Assert.True(p % 5 == 0 && p <= 95, $"progress {p}"));

        var result = job.Result!.Value;
        var assetId = AssetIds.ForVariant(id, 0);
        Assert.Equal([assetId], result.GetProperty("videoIds").EnumerateArray().Select(e => e.GetString()));
        var url = Assert.Single(result.GetProperty("videoUrls").EnumerateArray()).GetString()!;
        Assert.True(result.GetProperty("duration").GetInt64() >= 23_000, "the job's duration covers its polling");
        var key = ObjectKeys.ForAsset(ObjectKeys.AssetFolder(VideoPipelineFixture.ClientId, null, "sess-1"), assetId, "mp4");
        Assert.EndsWith("/" + key, url, StringComparison.Ordinal);
        var bytes = await File.ReadAllBytesAsync(Path.Combine(fixture.StorageDirectory, key));
        Assert.Equal("ftyp", Encoding.ASCII.GetString(bytes, 4, 4));
        Assert.True(bytes.Length > 65_536, $"{bytes.Length} bytes");

        var asset = Assert.Single(await fixture.App.AssetsAsync(id));
        Assert.Equal((assetId, "video", "completed", url), (asset.Id, asset.AssetType, asset.Status, asset.AssetUrl));
        Assert.Null(asset.OriginalUrl);
        Assert.Equal("[\"prod-1\"]", asset.ProductIdsJson);
        Assert.Equal("9:16", JsonDocument.Parse(asset.SettingsJson!).RootElement.GetProperty("aspectRatio").GetString());

        // Each poll went back to pending without an error: never "retrying" in the app's eyes.
        var pendingAgain = (await fixture.Jobs.EventsAsync(id)).Count(e => e.From == "processing" && e.To == "pending");
        Assert.True(pendingAgain >= operation.Polls - 1, $"{pendingAgain} snoozes for {operation.Polls} polls");
        Assert.Equal(0, await _jobs.ScalarAsync<long>(
            "SELECT count(*) FROM generation_job_event WHERE job_id = @id AND error IS NOT NULL", ("id", id)));
    }

    [Fact]
    public async Task SafetyFilteredVideo_FailsAtOnce_WithTheReasons()
    {
        var tag = Tag();
        var id = await InsertAsync($"filtered {tag} [emulate:video-filtered]");

        var job = await _jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(30));

        Assert.Equal("failed", job.Status);
        Assert.Equal(1, job.Attempts);
        Assert.StartsWith("video blocked by Veo's safety filters: ", job.Error, StringComparison.Ordinal);
        Assert.True(job.Error!.Length > "video blocked by Veo's safety filters: ".Length, job.Error);
        Assert.Single(fixture.Operations(tag));
        Assert.Empty(await fixture.App.AssetsAsync(id));
    }

    [Fact]
    public async Task ARefusedVideoModelOverride_FailsThatJobOnce_AndTheServiceRunsOn()
    {
        var tag = Tag();
        var id = await InsertAsync(
            $"override {tag} [emulate:precondition@veo-3.0-generate-001]", new { aspectRatio = "16:9", model = "veo-3.0-generate-001" });

        var job = await _jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(30));

        Assert.Equal(("failed", 1), (job.Status, job.Attempts));
        Assert.Equal(
            "Gemini refused model 'veo-3.0-generate-001', named by the job's model override (HTTP 400): User location is not supported for the API use.",
            job.Error);
        Assert.Empty(fixture.Operations(tag));
        Assert.Null(fixture.Silo.Health.Fatal);
    }

    [Fact]
    public async Task OperationError_IsRetried_WithANewStartOnlyAfterTheFirstOperationEnded()
    {
        var tag = Tag();
        var id = await InsertAsync($"failing operation {tag} [emulate:video-fail]", maxAttempts: 2);

        var job = await _jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(40));

        Assert.Equal("failed", job.Status);
        Assert.Equal(2, job.Attempts);
        Assert.StartsWith("Veo operation failed (INTERNAL): ", job.Error, StringComparison.Ordinal);
        var operations = fixture.Operations(tag);
        Assert.Equal(2, operations.Count);
        Assert.All(operations, operation => Assert.True(operation.Polls >= 1));

        // The second start came after a poll had seen the first one end (each runs 2 s).
        Assert.True(operations[1].CreatedAt - operations[0].CreatedAt >= TimeSpan.FromSeconds(2));
        var retried = (await fixture.Jobs.EventsAsync(id)).Count(e => e.From == "processing" && e.To == "pending" && e.Attempt == 1);
        Assert.True(retried >= 1);
    }

    [Fact]
    public async Task FailedDownload_IsRetried_WithoutANewStart()
    {
        var tag = Tag();
        var id = await InsertAsync($"download fails twice {tag} [emulate:download-503-x2]");

        var job = await _jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(40));

        Assert.Equal("completed", job.Status);
        Assert.Equal(1, job.Attempts);
        var operation = fixture.Operation(tag);
        Assert.Equal((2, 1), (operation.DownloadFailures, operation.Downloads));
        var asset = Assert.Single(await fixture.App.AssetsAsync(id));
        Assert.Equal("video", asset.AssetType);
    }

    [Fact]
    public async Task Cancel_DuringPolling_StopsPollingWithinTwoSeconds_AndStoresNothing()
    {
        var tag = Tag();
        var id = await InsertAsync($"cancelled while polling {tag} [emulate:video-time=60s]");
        await _jobs.WaitForAsync(id, j => j.Progress >= 20, TimeSpan.FromSeconds(30));

        await _jobs.CancelAsync(id);
        var cancelledAt = DateTimeOffset.UtcNow;

        // Observation windows: what a poll would do within them is the subject, so they are plain waits.
        await Task.Delay(TimeSpan.FromSeconds(2));
        var pollsAfterTwoSeconds = fixture.Operation(tag).Polls;
        await Task.Delay(TimeSpan.FromSeconds(4));
        var pollsLater = fixture.Operation(tag).Polls;

        output.WriteLine($"polls 2 s after the cancel: {pollsAfterTwoSeconds}; 6 s after: {pollsLater} (interval 1 s); checked at {DateTimeOffset.UtcNow - cancelledAt}");
        Assert.Equal(pollsAfterTwoSeconds, pollsLater);
        var job = await _jobs.GetAsync(id);
        Assert.Equal("cancelled", job.Status);
        Assert.Null(job.Result);
        Assert.Empty(await fixture.App.AssetsAsync(id));
        Assert.False(Directory.Exists(Path.Combine(fixture.StorageDirectory, ObjectKeys.AssetFolder(VideoPipelineFixture.ClientId, null, "sess-1"), AssetIds.ForVariant(id, 0) + ".mp4")));
        Assert.Single(fixture.Operations(tag));
    }

    [Fact]
    public async Task OperationRunningPastTheTimeout_FailsWithAClearError_CountedFromItsStart()
    {
        var tag = Tag();
        var id = await InsertAsync($"never ready {tag} [emulate:video-time=600s]");
        await _jobs.WaitForAsync(id, j => j.Progress >= 15, TimeSpan.FromSeconds(30));

        // The operation started 31 minutes ago, by the database's clock (VIDEO_TIMEOUT_MINUTES is 30).
        await _jobs.ExecuteAsync(
            "UPDATE generation_job SET operation_started_at = operation_started_at - interval '31 minutes' WHERE id = @id", ("id", id));
        var job = await _jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(20));

        Assert.Equal("failed", job.Status);
        Assert.StartsWith("video not ready 30 min after its start (VIDEO_TIMEOUT_MINUTES); operation models/", job.Error, StringComparison.Ordinal);
        Assert.Equal(1, job.Attempts);
        Assert.Single(fixture.Operations(tag));
    }

    [Fact]
    public async Task LostStartAnswer_FailsTheJob_WithoutASecondStart()
    {
        var tag = Tag();
        var id = await InsertAsync($"answer lost {tag} [emulate:lost-start]");

        var job = await _jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(30));

        Assert.Equal("failed", job.Status);
        Assert.StartsWith(VideoGenerationHandler.StartOutcomeUnknown, job.Error, StringComparison.Ordinal);
        Assert.Equal(1, job.Attempts);
        var operation = fixture.Operation(tag);
        Assert.True(operation.AnswerLost);
    }

    [Fact]
    public async Task StartInFlightWithoutAnOperationName_FailsWithoutStarting()
    {
        // The row as a silo killed during its start request leaves it (rescued back to pending).
        var tag = Tag();
        var id = await InsertAsync($"start lost with its silo {tag}", delay: TimeSpan.FromHours(1));
        await _jobs.ExecuteAsync(
            "UPDATE generation_job SET attempts = 1, operation_started_at = now(), scheduled_for = now() WHERE id = @id", ("id", id));

        var job = await _jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(30));

        Assert.Equal("failed", job.Status);
        Assert.Equal(VideoGenerationHandler.StartOutcomeUnknown, job.Error);
        Assert.Empty(fixture.Operations(tag));
    }

    [Fact]
    public async Task BadSettings_FailTheJobWithoutAStart()
    {
        var tag = Tag();
        var id = await InsertAsync($"square {tag}", new { aspectRatio = "1:1" });

        var job = await _jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(30));

        Assert.Equal("failed", job.Status);
        Assert.Equal("invalid payload: settings.aspectRatio '1:1' is not one of 16:9, 9:16", job.Error);
        Assert.Empty(fixture.Operations(tag));
    }

    private static string Tag() => "v" + Guid.NewGuid().ToString("N")[..10];

    private Task<string> InsertAsync(
        string prompt, object? settings = null, string[]? productIds = null, int maxAttempts = 3, TimeSpan? delay = null) =>
        _jobs.InsertAsync(
            "video_generation",
            new
            {
                sourceImageUrl = fixture.References.Url("ref.png"),
                prompt,
                sessionId = "sess-1",
                productIds = productIds ?? [],
                settings = settings ?? new { aspectRatio = "16:9" },
            },
            maxAttempts: maxAttempts,
            delay: delay,
            clientId: VideoPipelineFixture.ClientId);

    /// <summary>Reads the job's progress every 50 ms until it is final; returns the distinct values in the order seen.</summary>
    private async Task<IReadOnlyList<int>> SampleProgressUntilFinalAsync(string id, TimeSpan timeout)
    {
        var seen = new List<int>();
        await Eventually.UntilAsync(
            async () =>
            {
                var job = await _jobs.GetAsync(id);
                if (seen.Count == 0 || seen[^1] != job.Progress)
                {
                    seen.Add(job.Progress);
                }

                return job.IsFinal;
            },
            timeout,
            "the video job ends");
        return seen;
    }
}
