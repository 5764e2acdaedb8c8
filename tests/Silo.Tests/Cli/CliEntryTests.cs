using GenerationWorker.Silo.Cli;
using GenerationWorker.TestSupport;

namespace GenerationWorker.Silo.Tests.Cli;

public sealed class CliEntryTests
{
    [Theory]
    [InlineData("stats", true)]
    [InlineData("migrate", true)]
    [InlineData("stauts", true)]
    [InlineData("--urls=http://+:5000", false)]
    [InlineData("-h", false)]
    public void Handles_EveryWordButNotHostOptions(string first, bool handled) => Assert.Equal(handled, OperatorCli.Handles(first));

    [Theory]
    [InlineData("help")]
    [InlineData("--help")]
    public async Task Help_PrintsTheUsageWithoutADatabase(string command)
    {
        var stdout = new StringWriter();
        var code = await OperatorCli.RunAsync([command], _ => null, stdout, new StringWriter(), CancellationToken.None);
        Assert.Equal(0, code);
        Assert.Contains("Usage: GenerationWorker.Silo", stdout.ToString());
        Assert.Contains("retry <id> | retry --failed", stdout.ToString());
    }

    [Fact]
    public async Task UnknownCommand_PrintsTheUsageAndExitsWith2()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await OperatorCli.RunAsync(["stauts", "job_1"], _ => null, stdout, stderr, CancellationToken.None);
        Assert.Equal(OperatorCli.UsageError, code);
        Assert.Equal("", stdout.ToString());
        Assert.StartsWith("unknown command 'stauts'", stderr.ToString());
        Assert.Contains("Usage: GenerationWorker.Silo", stderr.ToString());
    }

    [Fact]
    public async Task MissingDatabaseUrl_ExitsWith2NamingIt()
    {
        var stderr = new StringWriter();
        var code = await OperatorCli.RunAsync(["stats"], _ => null, new StringWriter(), stderr, CancellationToken.None);
        Assert.Equal(OperatorCli.UsageError, code);
        Assert.Contains("DATABASE_URL is required", stderr.ToString());
    }

    [Fact]
    public async Task DatabaseUrl_FromTheEnvironment_IsTheDatabaseUsed()
    {
        var cs = await PostgresServer.CreateDatabaseAsync("cli");
        try
        {
            var env = new Dictionary<string, string?> { ["DATABASE_URL"] = cs, ["LOG_FORMAT"] = "text" };
            var stdout = new StringWriter();
            Assert.Equal(0, await OperatorCli.RunAsync(["migrate"], env.GetValueOrDefault, stdout, new StringWriter(), CancellationToken.None));
            Assert.Equal("schema up to date", stdout.ToString().Trim());
            Assert.Equal(0, await OperatorCli.RunAsync(
                ["enqueue", "--type", "image_generation", "--prompt", "p"], env.GetValueOrDefault, new StringWriter(), new StringWriter(), CancellationToken.None));
            Assert.Equal(1L, await new JobTable(cs).ScalarAsync<long>("SELECT count(*) FROM generation_job"));
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(cs);
        }
    }

    [Fact]
    public async Task Migrate_AppliesTheSchemaAndIsIdempotent()
    {
        var cs = await PostgresServer.CreateDatabaseAsync("cli");
        try
        {
            Assert.Equal(0, (await Cli.RunAsync(cs, "migrate")).ExitCode);
            var again = await Cli.RunAsync(cs, "migrate");
            Assert.Equal(0, again.ExitCode);
            Assert.Equal("schema up to date", again.Out.Trim());
            Assert.Equal(0L, await new JobTable(cs).ScalarAsync<long>("SELECT count(*) FROM generation_job"));
            Assert.Equal(2, (await Cli.RunAsync(cs, "migrate", "now")).ExitCode);
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(cs);
        }
    }

    [Fact]
    public async Task UnreachableDatabase_ExitsWith1WithADatabaseError()
    {
        var result = await Cli.RunAsync($"Host=127.0.0.1;Port={WorkerSilo.FreePort()};Username=postgres;Timeout=2", "list");
        Assert.Equal(OperatorCli.Refused, result.ExitCode);
        Assert.StartsWith("list: database error: ", result.Error);
    }
}
