using GenerationWorker.Grains.Postgres;
using GenerationWorker.Silo.Cli;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace GenerationWorker.Silo.Tests.Cli;

/// <summary>A fresh database with the service's schema, for one test class.</summary>
public sealed class CliDatabase : IAsyncLifetime
{
    public string ConnectionString { get; private set; } = "";

    public JobTable Jobs => new(ConnectionString);

    public async Task InitializeAsync()
    {
        ConnectionString = await PostgresServer.CreateDatabaseAsync("cli");
        await new SchemaMigrator(NullLogger<SchemaMigrator>.Instance).MigrateAsync(ConnectionString, CancellationToken.None);
    }

    public Task DisposeAsync() => PostgresServer.DropDatabaseAsync(ConnectionString);

    /// <summary>Runs the operator command line in-process and captures what it printed.</summary>
    public Task<CliResult> RunAsync(params string[] args) => Cli.RunAsync(ConnectionString, args);
}

/// <summary>What a command printed and returned.</summary>
public sealed record CliResult(int ExitCode, string Out, string Error)
{
    public string[] Lines => Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

public static class Cli
{
    public static async Task<CliResult> RunAsync(string connectionString, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await OperatorCli.RunAsync(args, connectionString, stdout, stderr, CancellationToken.None);
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }
}
