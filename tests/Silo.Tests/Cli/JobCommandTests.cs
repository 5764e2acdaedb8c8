using System.Text.Json;
using System.Text.Json.Nodes;
using GenerationWorker.Silo.Cli;

namespace GenerationWorker.Silo.Tests.Cli;

public sealed class JobCommandTests(CliDatabase db) : IClassFixture<CliDatabase>
{
    [Fact]
    public async Task Enqueue_Generation_InsertsThePayloadTheAppWrites()
    {
        var result = await db.RunAsync(
            "enqueue", "--type", "image_generation", "--prompt", "a red chair", "--variants", "2", "--aspect-ratio", "16:9",
            "--quality", "2k", "--reference", "https://cdn.example.com/a.png", "--reference=https://cdn.example.com/b.png",
            "--priority", "5", "--client", "tenant-7", "--max-attempts", "4");

        Assert.Equal(0, result.ExitCode);
        var id = Assert.Single(result.Lines);
        Assert.StartsWith("job_", id);
        var row = await RowAsync(id);
        Assert.Equal(("tenant-7", "image_generation", "pending", 5, 4, 0), (row.Client, row.Type, row.Status, row.Priority, row.MaxAttempts, row.Attempts));
        var expected = JsonNode.Parse("""
            { "prompt": "a red chair",
              "productImageUrls": ["https://cdn.example.com/a.png", "https://cdn.example.com/b.png"],
              "settings": { "numberOfVariants": 2, "imageQuality": "2k", "aspectRatio": "16:9" } }
            """);
        Assert.True(JsonNode.DeepEquals(expected, JsonNode.Parse(row.Payload)), row.Payload);
    }

    [Fact]
    public async Task Enqueue_Edit_WritesSourceEditPromptAndReferenceImages()
    {
        var result = await db.RunAsync(
            "enqueue", "--type", "image_edit", "--prompt", "make it blue", "--source", "https://cdn.example.com/src.png",
            "--reference", "https://cdn.example.com/logo.png", "--aspect-ratio", "1:1", "--quality", "1k");

        Assert.Equal(0, result.ExitCode);
        var row = await RowAsync(Assert.Single(result.Lines));
        Assert.Equal(("operator", "image_edit", 100, 3), (row.Client, row.Type, row.Priority, row.MaxAttempts));
        var expected = JsonNode.Parse("""
            { "sourceImageUrl": "https://cdn.example.com/src.png", "editPrompt": "make it blue",
              "referenceImages": [ { "url": "https://cdn.example.com/logo.png" } ],
              "aspectRatio": "1:1", "settings": { "imageQuality": "1k" } }
            """);
        Assert.True(JsonNode.DeepEquals(expected, JsonNode.Parse(row.Payload)), row.Payload);
    }

    [Fact]
    public async Task Enqueue_WithoutType_APromptAloneMakesAGeneration()
    {
        var result = await db.RunAsync("enqueue", "--prompt", "a blue lamp", "--reference", "/api/images/p.png");

        Assert.Equal(0, result.ExitCode);
        var row = await RowAsync(Assert.Single(result.Lines));
        Assert.Equal("image_generation", row.Type);
        var expected = JsonNode.Parse("""{ "prompt": "a blue lamp", "productImageUrls": ["/api/images/p.png"] }""");
        Assert.True(JsonNode.DeepEquals(expected, JsonNode.Parse(row.Payload)), row.Payload);
    }

    [Fact]
    public async Task Enqueue_WithoutType_ASourceMakesAnEdit_WithThePromptAsEditPrompt()
    {
        var result = await db.RunAsync("enqueue", "--source", "https://cdn.example.com/src.png", "--prompt", "make it green");

        Assert.Equal(0, result.ExitCode);
        var row = await RowAsync(Assert.Single(result.Lines));
        Assert.Equal("image_edit", row.Type);
        var expected = JsonNode.Parse("""{ "sourceImageUrl": "https://cdn.example.com/src.png", "editPrompt": "make it green" }""");
        Assert.True(JsonNode.DeepEquals(expected, JsonNode.Parse(row.Payload)), row.Payload);
    }

    [Fact]
    public async Task Enqueue_WithNeitherTypeNorPromptNorSource_SaysWhatToGive()
    {
        var result = await db.RunAsync("enqueue", "--variants", "2");

        Assert.Equal(OperatorCli.UsageError, result.ExitCode);
        Assert.Contains("--type is required (or give --prompt", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--variants", "2")]
    [InlineData("--source", "https://h/a.png")]
    [InlineData("--type", "video", "--prompt", "x")]
    [InlineData("--type", "image_generation")]
    [InlineData("--type", "image_generation", "--prompt", "x", "--variants", "9")]
    [InlineData("--type", "image_generation", "--prompt", "x", "--variants", "two")]
    [InlineData("--type", "image_generation", "--prompt", "x", "--aspect-ratio", "7:3")]
    [InlineData("--type", "image_generation", "--prompt", "x", "--quality", "8k")]
    [InlineData("--type", "image_generation", "--prompt", "x", "--reference", "ftp://host/a.png")]
    [InlineData("--type", "image_generation", "--prompt", "x", "--source", "https://h/a.png")]
    [InlineData("--type", "image_edit", "--prompt", "x")]
    [InlineData("--type", "image_generation", "--prompt", "x", "--max-attempts", "0")]
    [InlineData("--type", "image_generation", "--prompt", "x", "--colour", "red")]
    [InlineData("--type", "image_generation", "--prompt", "x", "--prompt", "y")]
    [InlineData("--type", "image_generation", "--prompt", " ")]
    [InlineData("--type", "image_generation", "--prompt")]
    [InlineData("--type", "image_generation", "--prompt", "x", "extra")]
    public async Task Enqueue_BadArguments_ExitWith2AndInsertNothing(params string[] arguments)
    {
        var before = await db.Jobs.ScalarAsync<long>("SELECT count(*) FROM generation_job");

        var result = await db.RunAsync(["enqueue", .. arguments]);

        Assert.Equal(OperatorCli.UsageError, result.ExitCode);
        Assert.Equal("", result.Out);
        Assert.StartsWith("enqueue: ", result.Error);
        Assert.Equal(before, await db.Jobs.ScalarAsync<long>("SELECT count(*) FROM generation_job"));
    }

    [Fact]
    public async Task Enqueue_BadAspectRatio_SaysWhichRatiosAreAllowed()
    {
        var result = await db.RunAsync("enqueue", "--type", "image_generation", "--prompt", "x", "--aspect-ratio", "7:3");
        Assert.Contains("aspect ratio '7:3' is not one of", result.Error);
        Assert.Contains("16:9", result.Error);
    }

    [Fact]
    public async Task Status_OfACompletedJob_ShowsImagesAttemptsAndTimes()
    {
        var id = await db.Jobs.InsertAsync("image_generation", new { prompt = "p", settings = new { numberOfVariants = 2 } });
        await db.Jobs.ExecuteAsync(
            """
            UPDATE generation_job SET status = 'completed', progress = 100, attempts = 2, started_at = now(),
                completed_at = now(), error = NULL,
                result = '{"imageUrls": ["https://cdn.example.com/a.png", "https://cdn.example.com/b.png"], "imageIds": ["i1", "i2"], "duration": 4321}'
            WHERE id = @id
            """, ("id", id));

        var result = await db.RunAsync("status", id);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains($"id:          {id}", result.Lines);
        Assert.Contains("status:      completed", result.Lines);
        Assert.Contains("progress:    [####################] 100%", result.Lines);
        Assert.Contains("attempts:    2/3", result.Lines);
        Assert.Contains("images:      https://cdn.example.com/a.png", result.Lines);
        Assert.Contains("https://cdn.example.com/b.png", result.Lines);
        Assert.Contains("duration:    4321 ms", result.Lines);
        Assert.Contains(result.Lines, line => line.StartsWith("completed:   20", StringComparison.Ordinal));
        Assert.DoesNotContain(result.Lines, line => line.StartsWith("error", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Status_AndList_PrintTenantTextWithoutControlCharacters()
    {
        var id = await db.Jobs.InsertAsync("image_generation", new { prompt = "p" }, clientId: "client\u0007\u001b]0;owned\u0007");
        await db.Jobs.ExecuteAsync(
            "UPDATE generation_job SET error = @error WHERE id = @id",
            ("id", id), ("error", "bad \u001b[31mred\u001b[0m\rfake\u202Eline"));

        var status = await db.RunAsync("status", id);
        var list = await db.RunAsync("list");

        foreach (var output in new[] { status, list })
        {
            Assert.Equal(0, output.ExitCode);
            Assert.DoesNotContain(output.Lines, line => line.Any(c => char.IsControl(c) || c == '\u202E'));
        }

        Assert.Contains("last error:  bad ?[31mred?[0m fake?line", status.Lines);
        Assert.Contains("client:      client??]0;owned?", status.Lines);
    }

    [Fact]
    public async Task Status_OfAJobWaitingForItsRetry_ShowsTheLastErrorAndTheWait()
    {
        var id = await db.Jobs.InsertAsync("image_generation", new { prompt = "p" }, delay: TimeSpan.FromMinutes(5));
        await db.Jobs.ExecuteAsync(
            "UPDATE generation_job SET attempts = 1, progress = 50, error = 'Gemini error 503: overloaded' WHERE id = @id", ("id", id));

        var result = await db.RunAsync("status", id);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains(result.Lines, line => line.StartsWith("status:      pending (waiting until ", StringComparison.Ordinal));
        Assert.Contains("progress:    [##########..........] 50%", result.Lines);
        Assert.Contains("last error:  Gemini error 503: overloaded", result.Lines);
    }

    [Theory]
    [InlineData("status", "job_does_not_exist")]
    [InlineData("status")]
    [InlineData("status", "a", "b")]
    [InlineData("status", "")]
    [InlineData("status", "x", "--verbose")]
    [InlineData("cancel", "job_does_not_exist")]
    [InlineData("cancel")]
    [InlineData("retry", "job_does_not_exist")]
    [InlineData("retry")]
    [InlineData("retry", "job_x", "--failed")]
    public async Task BadOrUnknownIds_ExitWith2AndSaySo(params string[] args)
    {
        var result = await db.RunAsync(args);

        Assert.Equal(OperatorCli.UsageError, result.ExitCode);
        Assert.Equal("", result.Out);
        Assert.NotEqual("", result.Error.Trim());
        if (args is [_, "job_does_not_exist"])
        {
            Assert.Equal("no job with id 'job_does_not_exist'", result.Error.Trim());
        }
    }

    [Fact]
    public async Task Retry_AFailedJob_MakesItPendingNowWithAttemptsResetAndTheErrorKept()
    {
        var id = await db.Jobs.InsertAsync("image_generation", new { prompt = "p" });
        await db.Jobs.ExecuteAsync(
            """
            UPDATE generation_job SET status = 'failed', attempts = 3, error = 'Gemini error 500: internal',
                completed_at = now(), scheduled_for = now() + interval '1 hour', locked_by = 'silo-a'
            WHERE id = @id
            """, ("id", id));

        var result = await db.RunAsync("retry", id);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal($"{id} back to pending, attempts reset", result.Out.Trim());
        var job = await db.Jobs.GetAsync(id);
        Assert.Equal(("pending", 0, "Gemini error 500: internal", null, null), (job.Status, job.Attempts, job.Error, job.CompletedAt, job.LockedBy));
        Assert.True(await db.Jobs.ScalarAsync<bool>("SELECT scheduled_for <= now() FROM generation_job WHERE id = @id", ("id", id)));
    }

    [Theory]
    [InlineData("completed")]
    [InlineData("processing")]
    public async Task Retry_ACompletedOrRunningJob_IsRefusedWith1AndChangesNothing(string status)
    {
        var id = await db.Jobs.InsertAsync("image_generation", new { prompt = "p" });
        await db.Jobs.ExecuteAsync("UPDATE generation_job SET status = @status, attempts = 1 WHERE id = @id", ("status", status), ("id", id));

        var result = await db.RunAsync("retry", id);

        Assert.Equal(OperatorCli.Refused, result.ExitCode);
        Assert.Contains($"{id} is {status}", result.Error);
        var job = await db.Jobs.GetAsync(id);
        Assert.Equal((status, 1), (job.Status, job.Attempts));
    }

    [Fact]
    public async Task RetryFailed_PutsBackEveryFailedJobAndNothingElse()
    {
        await db.Jobs.ExecuteAsync("UPDATE generation_job SET status = 'cancelled' WHERE status = 'failed'");
        var failed = new[] { await db.Jobs.InsertAsync("image_generation", new { prompt = "a" }), await db.Jobs.InsertAsync("image_generation", new { prompt = "b" }) };
        var completed = await db.Jobs.InsertAsync("image_generation", new { prompt = "c" });
        foreach (var id in failed)
        {
            await db.Jobs.ExecuteAsync("UPDATE generation_job SET status = 'failed', attempts = 3, error = 'boom' WHERE id = @id", ("id", id));
        }

        await db.Jobs.ExecuteAsync("UPDATE generation_job SET status = 'completed', attempts = 1 WHERE id = @id", ("id", completed));

        var result = await db.RunAsync("retry", "--failed");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(failed.Order(), result.Lines[..2].Order());
        Assert.Equal("2 failed job(s) back to pending", result.Lines[2]);
        foreach (var id in failed)
        {
            Assert.Equal(("pending", 0), await StatusAttemptsAsync(id));
        }

        Assert.Equal(("completed", 1), await StatusAttemptsAsync(completed));
        Assert.Equal(0L, await db.Jobs.ScalarAsync<long>("SELECT count(*) FROM generation_job WHERE status = 'failed'"));
    }

    [Theory]
    [InlineData("pending")]
    [InlineData("processing")]
    public async Task Cancel_APendingOrRunningJob_ChangesOnlyItsStatusAsTheAppDoes(string status)
    {
        var id = await db.Jobs.InsertAsync("image_generation", new { prompt = "p" });
        await db.Jobs.ExecuteAsync(
            "UPDATE generation_job SET status = @status, lease_token = CASE WHEN @status = 'processing' THEN gen_random_uuid() END WHERE id = @id",
            ("status", status), ("id", id));
        var before = await db.Jobs.ScalarAsync<string>(
            "SELECT (to_jsonb(j) - 'status')::text FROM generation_job j WHERE id = @id", ("id", id));

        var result = await db.RunAsync("cancel", id);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal($"{id} cancelled", result.Out.Trim());
        Assert.Equal("cancelled", (await db.Jobs.GetAsync(id)).Status);
        var after = await db.Jobs.ScalarAsync<string>("SELECT (to_jsonb(j) - 'status')::text FROM generation_job j WHERE id = @id", ("id", id));
        Assert.Equal(before, after);
    }

    [Theory]
    [InlineData("completed")]
    [InlineData("failed")]
    [InlineData("cancelled")]
    public async Task Cancel_AnEndedJob_IsRefusedWith1(string status)
    {
        var id = await db.Jobs.InsertAsync("image_generation", new { prompt = "p" });
        await db.Jobs.ExecuteAsync("UPDATE generation_job SET status = @status WHERE id = @id", ("status", status), ("id", id));

        var result = await db.RunAsync("cancel", id);

        Assert.Equal(OperatorCli.Refused, result.ExitCode);
        Assert.Equal($"cancel: {id} is already {status}", result.Error.Trim());
        Assert.Equal(status, (await db.Jobs.GetAsync(id)).Status);
    }

    [Fact]
    public async Task Cancel_ThenRetry_RunsTheJobAgainFromPending()
    {
        var id = Assert.Single((await db.RunAsync("enqueue", "--type", "image_generation", "--prompt", "p")).Lines);
        Assert.Equal(0, (await db.RunAsync("cancel", id)).ExitCode);
        Assert.Equal(0, (await db.RunAsync("retry", id)).ExitCode);
        Assert.Equal("pending", (await db.Jobs.GetAsync(id)).Status);
    }

    private async Task<(string, int)> StatusAttemptsAsync(string id)
    {
        var job = await db.Jobs.GetAsync(id);
        return (job.Status, job.Attempts);
    }

    private async Task<(string Client, string Type, string Status, int Priority, int MaxAttempts, int Attempts, string Payload)> RowAsync(string id)
    {
        var json = await db.Jobs.ScalarAsync<string>(
            "SELECT json_build_object('c', client_id, 't', type, 's', status, 'p', priority, 'm', max_attempts, 'a', attempts, 'payload', payload)::text FROM generation_job WHERE id = @id",
            ("id", id));
        using var row = JsonDocument.Parse(json);
        var r = row.RootElement;
        return (r.GetProperty("c").GetString()!, r.GetProperty("t").GetString()!, r.GetProperty("s").GetString()!,
            r.GetProperty("p").GetInt32(), r.GetProperty("m").GetInt32(), r.GetProperty("a").GetInt32(), r.GetProperty("payload").GetRawText());
    }
}
