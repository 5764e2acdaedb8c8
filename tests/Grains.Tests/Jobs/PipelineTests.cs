using GenerationWorker.Grains.Images;
using GenerationWorker.Grains.Jobs;
using GenerationWorker.Grains.Tests.Gemini;
using GenerationWorker.TestSupport;
using Xunit.Abstractions;

namespace GenerationWorker.Grains.Tests.Jobs;

public sealed class PipelineTests(PipelineFixture fixture, ITestOutputHelper output) : IClassFixture<PipelineFixture>
{
    private readonly JobTable _jobs = fixture.Jobs;

    [Fact]
    public async Task GenerationJob_WithVariants_CompletesWithServedPngsAndStableIds()
    {
        var id = await _jobs.InsertAsync("image_generation", new
        {
            prompt = "a red bicycle, studio light",
            settings = new { aspectRatio = "16:9", imageQuality = "2k", numberOfVariants = 3 },
            productImageUrls = new[] { fixture.References.Url("ref.png") },
        });

        var job = await _jobs.WaitFinalAsync(id);

        Assert.Equal("completed", job.Status);
        Assert.Equal(100, job.Progress);
        Assert.Equal(1, job.Attempts);
        Assert.Equal(3, job.ImageUrls.Count);
        Assert.Equal([.. Enumerable.Range(0, 3).Select(n => GenerationWorker.Grains.Assets.AssetIds.ForVariant(id, n))], job.ImageIds);
        Assert.True(job.Result!.Value.GetProperty("duration").GetInt64() >= 0);
        using var http = new HttpClient();
        foreach (var url in job.ImageUrls)
        {
            using var response = await http.GetAsync(url);
            Assert.Equal("image/webp", response.Content.Headers.ContentType?.MediaType);
            var (width, height) = Imaging.TestImages.SizeOf(await response.Content.ReadAsStreamAsync());
            Assert.Equal(16 * height, 9 * width);
        }

        Assert.Equal(job.ImageUrls, await StoredUrlsAsync(id));
    }

    [Fact]
    public async Task OneVariantJob_ItsImageIsRecordedWithTheCompletion()
    {
        var id = await _jobs.InsertAsync("image_generation", new { prompt = "one variant, recorded by the completion" });

        var job = await _jobs.WaitFinalAsync(id);

        Assert.Equal("completed", job.Status);
        Assert.Equal(job.ImageUrls, await StoredUrlsAsync(id));
        Assert.True(await _jobs.ScalarAsync<int>("SELECT size_bytes FROM generation_job_output WHERE job_id = @id", ("id", id)) > 0);
        Assert.Equal("image/webp", await _jobs.ScalarAsync<string>("SELECT content_type FROM generation_job_output WHERE job_id = @id", ("id", id)));
    }

    [Fact]
    public async Task CompletionWithALostLease_RecordsNothing()
    {
        var id = await _jobs.InsertAsync("image_generation", new { prompt = "never claimed" }, delay: TimeSpan.FromHours(1));
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(fixture.ConnectionString);
        var store = new GenerationWorker.Grains.Postgres.JobStore(dataSource);
        var output = new GenerationWorker.Grains.Postgres.StoredOutput(0, "k/0.png", "https://example.test/k/0.png", "img");

        var completed = await store.CompleteAsync(
            id, Guid.NewGuid(), "{}", new GenerationWorker.Grains.Postgres.UnrecordedOutput(output, "image/png", 10), CancellationToken.None);

        Assert.False(completed);
        Assert.Equal("pending", (await _jobs.GetAsync(id)).Status);
        Assert.Empty(await StoredUrlsAsync(id));
        await _jobs.CancelAsync(id);
    }

    [Fact]
    public async Task ALeaseLostWhenTheStartIsRecorded_StopsTheRun_AndStoresNothing()
    {
        // The write of the job's start finds no row held by the claim (a trigger skips it, as a lease lost at that moment
        // would): the run stops instead of completing after Gemini's answer (3 s).
        await _jobs.ExecuteAsync(
            """
            CREATE OR REPLACE FUNCTION test_start_lost() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RETURN NULL;
            END
            $$;
            CREATE TRIGGER test_start_lost BEFORE UPDATE ON generation_job FOR EACH ROW
                WHEN (OLD.status = 'processing' AND NEW.status = 'processing' AND OLD.model IS DISTINCT FROM NEW.model
                      AND NEW.payload ->> 'prompt' LIKE 'start lost%')
                EXECUTE FUNCTION test_start_lost();
            """);
        try
        {
            var endedBefore = fixture.Silo.Health.Ended;
            var id = await _jobs.InsertAsync("image_generation", new { prompt = "start lost [emulate:delay=3000ms]" });

            await Eventually.UntilAsync(
                () => (fixture.Silo.Health.Ended - endedBefore).Cancelled >= 1, TimeSpan.FromSeconds(15), "the run stops");

            var job = await _jobs.GetAsync(id);
            Assert.Equal("processing", job.Status);
            Assert.Empty(await StoredUrlsAsync(id));
            await _jobs.CancelAsync(id);
        }
        finally
        {
            await _jobs.ExecuteAsync("DROP TRIGGER test_start_lost ON generation_job; DROP FUNCTION test_start_lost()");
        }
    }

    private async Task<IReadOnlyList<string>> StoredUrlsAsync(string id)
    {
        var urls = new List<string>();
        await using var connection = new Npgsql.NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT url FROM generation_job_output WHERE job_id = @id ORDER BY variant", connection);
        command.Parameters.AddWithValue("id", id);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            urls.Add(reader.GetString(0));
        }

        return urls;
    }

    [Fact]
    public async Task EditJob_SendsTheSourceAndTheComponentNames_NotTheReferenceImagesNorTheAspectRatio()
    {
        var prompt = "make the sky purple " + Guid.NewGuid();
        var id = await _jobs.InsertAsync("image_edit", new
        {
            sourceImageUrl = fixture.References.Url("ref.png"),
            editPrompt = prompt,
            referenceImages = new[] { new { url = fixture.References.Url("ref.jpg"), componentName = "logo" } },
            aspectRatio = "1:1",
            previewOnly = false,
        });

        var job = await _jobs.WaitFinalAsync(id);

        Assert.Equal("completed", job.Status);
        Assert.Single(job.ImageUrls);
        var request = Assert.Single(fixture.Gemini.ReceivedRequests(prompt));
        Assert.Equal(1, request.ReferenceImages);
        Assert.Null(request.AspectRatio);
        Assert.Equal(ImageEditHandler.Instruction(new EditRequest(
            new ImageReference.AppRelative("/x"), prompt, ["logo"], "2K", false, null, null, [], "{}")), request.Parts![1].Text);
    }

    [Fact]
    public async Task Transient503_IsRetriedWithBackoff_AndCompletesOnTheSecondAttempt()
    {
        var endedBefore = fixture.Silo.Health.Ended;
        var id = await _jobs.InsertAsync("image_generation", new { prompt = $"[emulate:503-once] overloaded {Guid.NewGuid()}" });

        var job = await _jobs.WaitFinalAsync(id);

        Assert.Equal("completed", job.Status);
        Assert.Equal(2, job.Attempts);
        var ended = fixture.Silo.Health.Ended - endedBefore;
        Assert.True(ended is { Retried: >= 1, Completed: >= 1 }, $"the silo counted both attempts' ends: {ended}");
        var events = await _jobs.EventsAsync(id);
        var retry = events.Single(e => e.From == "processing" && e.To == "pending");
        var secondClaim = events.Last(e => e.To == "processing");
        Assert.True(secondClaim.At > retry.At, "the retry waited for its backoff");
        Assert.Null(job.Error);
    }

    [Fact]
    public async Task ImageSafety_FailsAtOnce_WithoutRetry()
    {
        var id = await _jobs.InsertAsync("image_generation", new { prompt = $"[emulate:IMAGE_SAFETY] {Guid.NewGuid()}" });

        var job = await _jobs.WaitFinalAsync(id);

        Assert.Equal("failed", job.Status);
        Assert.Equal(1, job.Attempts);
        Assert.Contains("IMAGE_SAFETY", job.Error);
    }

    [Fact]
    public async Task PriorityThenAge_DecidesTheOrder_AndScheduledForIsRespected()
    {
        // Two jobs that become claimable at the same instant, and one that must wait longer despite its top priority.
        var at = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(2);
        var late = await _jobs.InsertAsync("image_generation", new { prompt = "late " + Guid.NewGuid() }, priority: 100, scheduledFor: at);
        var urgent = await _jobs.InsertAsync("image_generation", new { prompt = "urgent " + Guid.NewGuid() }, priority: 1, scheduledFor: at);
        var future = await _jobs.InsertAsync("image_generation", new { prompt = "future " + Guid.NewGuid() }, priority: 0, scheduledFor: at + TimeSpan.FromSeconds(2));
        var insertedAt = DateTimeOffset.UtcNow;

        var jobs = await _jobs.WaitAllFinalAsync([late, urgent, future]);

        Assert.All(jobs, j => Assert.Equal("completed", j.Status));
        var byId = jobs.ToDictionary(j => j.Id);
        Assert.True(byId[urgent].StartedAt <= byId[late].StartedAt, "priority 1 runs before priority 100");
        Assert.True(byId[future].StartedAt >= byId[future].ScheduledFor, "never before scheduled_for");
        Assert.True(byId[late].StartedAt >= byId[late].ScheduledFor);
        output.WriteLine($"future job started {(byId[future].StartedAt!.Value - byId[future].ScheduledFor).TotalMilliseconds:0} ms after its scheduled_for (inserted {insertedAt:O})");
    }

    [Fact]
    public async Task ListenPath_PicksUpANewJobWithinMilliseconds()
    {
        var latencies = new List<double>();
        for (var i = 0; i < 10; i++)
        {
            var prompt = $"pickup {i} {Guid.NewGuid()}";
            var id = await _jobs.InsertAsync("image_generation", new { prompt });
            await _jobs.WaitFinalAsync(id);
            var arrived = fixture.Gemini.Stats.Snapshot().RecentRequests.First(r => r.PromptStart == prompt[..Math.Min(80, prompt.Length)]).ArrivedAt;
            var job = await _jobs.GetAsync(id);
            latencies.Add((arrived - job.ScheduledFor).TotalMilliseconds);
            Assert.Equal("completed", job.Status);
        }

        latencies.Sort();
        output.WriteLine($"LISTEN pickup (insert to Gemini request), 10 jobs: p50 {latencies[5]:0.0} ms, max {latencies[^1]:0.0} ms");
    }
}
