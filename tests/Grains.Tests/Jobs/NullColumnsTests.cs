namespace GenerationWorker.Grains.Tests.Jobs;

/// <summary>A silo on a table the app created with nullable columns.</summary>
public sealed class NullableTableFixture : PipelineFixture
{
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await Jobs.ExecuteAsync(
            """
            ALTER TABLE generation_job ALTER COLUMN client_id DROP NOT NULL, ALTER COLUMN type DROP NOT NULL,
                ALTER COLUMN payload DROP NOT NULL, ALTER COLUMN attempts DROP NOT NULL, ALTER COLUMN max_attempts DROP NOT NULL
            """);
    }
}

public sealed class NullColumnsTests(NullableTableFixture fixture) : IClassFixture<NullableTableFixture>
{
    [Theory]
    [InlineData("client_id")]
    [InlineData("type")]
    [InlineData("payload")]
    public async Task ARowWithANullColumn_FailsAtOnceSayingSo_AndAGoodJobBesideItCompletes(string column)
    {
        var bad = await fixture.Jobs.InsertAsync("image_generation", new { prompt = "null " + column }, delay: TimeSpan.FromHours(1));
        await fixture.Jobs.ExecuteAsync($"UPDATE generation_job SET {column} = NULL, scheduled_for = now() WHERE id = @id", ("id", bad));
        var good = await fixture.Jobs.InsertAsync("image_generation", new { prompt = "beside a null " + column });

        var results = await fixture.Jobs.WaitAllFinalAsync([bad, good]);

        Assert.Equal("failed", results[0].Status);
        Assert.Equal(1, results[0].Attempts);
        Assert.Equal($"the job's row has NULL in {column}: a job needs a client_id, a type and a payload", results[0].Error);
        Assert.Equal("completed", results[1].Status);
    }

    [Theory]
    [InlineData("attempts")]
    [InlineData("max_attempts")]
    public async Task ARowWithANullAttemptCounter_RunsWithTheDefault_AndAGoodJobBesideItCompletes(string column)
    {
        var bad = await fixture.Jobs.InsertAsync("image_generation", new { prompt = "null " + column }, delay: TimeSpan.FromHours(1));
        await fixture.Jobs.ExecuteAsync($"UPDATE generation_job SET {column} = NULL, scheduled_for = now() WHERE id = @id", ("id", bad));
        var good = await fixture.Jobs.InsertAsync("image_generation", new { prompt = "beside a null " + column });

        // The good job first: until the bad row is claimed, its NULL cannot be read back as a number.
        var results = await fixture.Jobs.WaitAllFinalAsync([good, bad]);

        Assert.Equal("completed", results[0].Status);
        // NULL attempts counts as none spent and NULL max_attempts as the column's default, 3.
        Assert.Equal(("completed", 1, 3), (results[1].Status, results[1].Attempts, results[1].MaxAttempts));
    }

    [Fact]
    public async Task TheAppInsertingNullAttemptCounters_IsAccepted_AndTheJobCompletesBesideAGoodOne()
    {
        var id = "job_" + Guid.NewGuid().ToString("N");
        await fixture.Jobs.ExecuteAsync(
            """
            INSERT INTO generation_job (id, client_id, type, payload, attempts, max_attempts)
            VALUES (@id, 'client-1', 'image_generation', '{"prompt":"inserted with null counters"}', NULL, NULL)
            """,
            ("id", id));
        var good = await fixture.Jobs.InsertAsync("image_generation", new { prompt = "beside null counters" });

        var results = await fixture.Jobs.WaitAllFinalAsync([good, id]);

        Assert.Equal("completed", results[0].Status);
        Assert.Equal(("completed", 1, 3), (results[1].Status, results[1].Attempts, results[1].MaxAttempts));
        var events = await fixture.Jobs.EventsAsync(id);
        Assert.Equal([("pending", 0), ("processing", 1), ("completed", 1)], events.Select(e => (e.To, e.Attempt)));
    }
}
