using GenerationWorker.Silo.Cli;

namespace GenerationWorker.Silo.Tests.Cli;

public sealed class ListCommandTests(CliDatabase db) : IClassFixture<CliDatabase>, IAsyncLifetime
{
    private readonly List<string> _ids = [];

    public async Task InitializeAsync()
    {
        // Oldest first: a failed job, a processing one, then two pending ones.
        foreach (var (status, minutesAgo) in new[] { ("failed", 40), ("processing", 30), ("pending", 20), ("pending", 10) })
        {
            var id = await db.Jobs.InsertAsync("image_generation", new { prompt = "p" });
            await db.Jobs.ExecuteAsync(
                "UPDATE generation_job SET status = @status, created_at = now() - make_interval(mins => @ago), error = CASE WHEN @status = 'failed' THEN 'Gemini refused: SAFETY' END WHERE id = @id",
                ("status", status), ("ago", minutesAgo), ("id", id));
            _ids.Add(id);
        }
    }

    public Task DisposeAsync() => db.Jobs.ExecuteAsync("DELETE FROM generation_job");

    [Fact]
    public async Task List_ShowsATableNewestFirst()
    {
        var result = await db.RunAsync("list");

        Assert.Equal(0, result.ExitCode);
        Assert.Matches(@"^ID\s+TYPE\s+STATUS\s+PROGRESS\s+ATTEMPTS\s+CREATED \(UTC\)\s+ERROR$", result.Lines[0]);
        Assert.Equal(_ids.AsEnumerable().Reverse(), result.Lines.Skip(1).Select(line => line.Split(' ')[0]));
        Assert.Contains("Gemini refused: SAFETY", result.Lines[^1]);
        var statusColumn = result.Lines[0].IndexOf("STATUS", StringComparison.Ordinal);
        Assert.All(result.Lines.Skip(1), line => Assert.NotEqual(' ', line[statusColumn]));
    }

    [Fact]
    public async Task List_FiltersByStatusAndLimits()
    {
        var pending = await db.RunAsync("list", "--status", "pending", "--limit", "1");

        Assert.Equal(0, pending.ExitCode);
        Assert.Equal(2, pending.Lines.Length);
        Assert.StartsWith(_ids[3] + " ", pending.Lines[1]);
    }

    [Fact]
    public async Task List_WithNothingToShow_SaysSo()
    {
        var result = await db.RunAsync("list", "--status", "cancelled");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("no cancelled jobs", result.Out.Trim());
    }

    [Theory]
    [InlineData("--status", "done")]
    [InlineData("--limit", "0")]
    [InlineData("--limit", "1001")]
    [InlineData("--limit", "ten")]
    [InlineData("--limit")]
    [InlineData("pending")]
    [InlineData("--sort", "id")]
    public async Task List_BadArguments_ExitWith2(params string[] arguments)
    {
        var result = await db.RunAsync(["list", .. arguments]);
        Assert.Equal(OperatorCli.UsageError, result.ExitCode);
        Assert.StartsWith("list: ", result.Error);
        Assert.Equal("", result.Out);
    }
}
