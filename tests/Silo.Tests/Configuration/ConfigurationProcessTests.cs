using GenerationWorker.TestSupport;

namespace GenerationWorker.Silo.Tests.Configuration;

/// <summary>The real executable refuses a bad environment at once: exit code 2, stderr naming each variable to fix.</summary>
[Collection(SiloProcessCollection.Name)]
public sealed class ConfigurationProcessTests
{
    // Nothing listens on port 1: a process that tried to reach this database would retry for a minute, not exit at once.
    private const string UnreachableDatabase = "postgres://worker:db-secret-5f1c@127.0.0.1:1/app";
    private static readonly TimeSpan Quickly = TimeSpan.FromSeconds(20);

    private static Dictionary<string, string?> ValidR2Environment() => new()
    {
        ["DATABASE_URL"] = UnreachableDatabase,
        ["GEMINI_API_KEY"] = "gemini-key-9a7e3",
        ["R2_ACCOUNT_ID"] = "account",
        ["R2_ACCESS_KEY_ID"] = "access-id",
        ["R2_SECRET_ACCESS_KEY"] = "r2-secret-77d2",
        ["R2_BUCKET"] = "images",
        ["R2_PUBLIC_URL"] = "https://cdn.example.test",
        ["PORT"] = WorkerSilo.FreePort().ToString(),
    };

    [Theory]
    [InlineData("DATABASE_URL")]
    [InlineData("GEMINI_API_KEY")]
    [InlineData("R2_BUCKET")]
    [InlineData("R2_ACCESS_KEY_ID")]
    [InlineData("R2_SECRET_ACCESS_KEY")]
    [InlineData("R2_PUBLIC_URL")]
    public async Task MissingRequiredVariable_ExitsWithCode2NamingIt(string name)
    {
        var env = ValidR2Environment();
        env.Remove(name);

        var run = await SiloProcess.RunToExitAsync([], env, Quickly);

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains("\n  " + name + " is required", run.StandardError, StringComparison.Ordinal);
        Assert.Single(ErrorLines(run));
    }

    [Theory]
    [InlineData("WORKER_CONCURRENCY", "abc")]
    [InlineData("DATABASE_URL", "mysql://x")]
    [InlineData("PORT", "70000")]
    [InlineData("STORAGE", "ftp")]
    [InlineData("GEMINI_BASE_URL", "not a url")]
    [InlineData("R2_ENDPOINT", "http://127.0.0.1:9000")]
    [InlineData("R2_ACCOUNT_ID", "account.example.com/x")]
    [InlineData("JOB_LEASE_SECONDS", "NaN")]
    public async Task MalformedVariable_ExitsWithCode2NamingIt(string name, string value)
    {
        var env = ValidR2Environment();
        env[name] = value;

        var run = await SiloProcess.RunToExitAsync([], env, Quickly);

        Assert.True(run.ExitCode == 2, run.ToString());
        var line = Assert.Single(ErrorLines(run));
        Assert.StartsWith(name + " ", line);
    }

    [Fact]
    public async Task SeveralProblems_AreAllListedAtOnce()
    {
        var env = ValidR2Environment();
        env.Remove("GEMINI_API_KEY");
        env["WORKER_CONCURRENCY"] = "abc";
        env["DASHBOARD_USERNAME"] = "admin";

        var run = await SiloProcess.RunToExitAsync([], env, Quickly);

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Equal(
            ["DASHBOARD_PASSWORD", "GEMINI_API_KEY", "WORKER_CONCURRENCY"],
            ErrorLines(run).Select(line => line.Split(' ')[0]).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task TwoNamesOfTheApiKey_WithDifferentValues_ExitWithCode2NamingBoth_AndShowingNeither()
    {
        var env = ValidR2Environment();
        env["GOOGLE_AI_STUDIO_API_KEY"] = "studio-key-41c8";

        var run = await SiloProcess.RunToExitAsync([], env, Quickly);

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.StartsWith("GEMINI_API_KEY and GOOGLE_AI_STUDIO_API_KEY ", Assert.Single(ErrorLines(run)));
        foreach (var secret in new[] { "gemini-key-9a7e3", "studio-key-41c8" })
        {
            Assert.DoesNotContain(secret, run.StandardError + run.StandardOutput, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Migrate_WithoutDatabaseUrl_ExitsWithCode2NamingIt()
    {
        var run = await SiloProcess.RunToExitAsync(["migrate"], new Dictionary<string, string?>(), Quickly);

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.StartsWith("DATABASE_URL is required", Assert.Single(ErrorLines(run)));
    }

    [Fact]
    public async Task Migrate_NeedsOnlyTheDatabase_AndRejectsAMalformedOne()
    {
        var run = await SiloProcess.RunToExitAsync(
            ["migrate"], new Dictionary<string, string?> { ["DATABASE_URL"] = "mysql://x" }, Quickly);

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.StartsWith("DATABASE_URL must start with postgres://", Assert.Single(ErrorLines(run)));
    }

    [Fact]
    public async Task ErrorOutput_NeverShowsTheSecretsItWasGiven()
    {
        var env = ValidR2Environment();
        env["DATABASE_URL"] = "postgres://worker:db-secret-5f1c@127.0.0.1:notaport/app";
        env["WORKER_CONCURRENCY"] = "abc";

        var run = await SiloProcess.RunToExitAsync([], env, Quickly);

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains(ErrorLines(run), line => line.StartsWith("DATABASE_URL ", StringComparison.Ordinal));
        foreach (var secret in new[] { "db-secret-5f1c", "gemini-key-9a7e3", "r2-secret-77d2" })
        {
            Assert.DoesNotContain(secret, run.StandardError + run.StandardOutput, StringComparison.Ordinal);
        }
    }

    /// <summary>The lines of the configuration error, each naming one variable.</summary>
    private static List<string> ErrorLines(ProcessRun run)
    {
        Assert.StartsWith("Invalid configuration:", run.StandardError);
        return run.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Skip(1)
            .ToList();
    }
}
