namespace GenerationWorker.Grains.Tests.Jobs;

/// <summary>A silo on a table the app created with nullable columns.</summary>
public sealed class NullableTableFixture : PipelineFixture
{
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await Jobs.ExecuteAsync(
            "ALTER TABLE generation_job ALTER COLUMN client_id DROP NOT NULL, ALTER COLUMN type DROP NOT NULL, ALTER COLUMN payload DROP NOT NULL");
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
}
