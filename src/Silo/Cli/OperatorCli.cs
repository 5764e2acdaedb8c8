using GenerationWorker.Grains.Postgres;
using GenerationWorker.Silo.Configuration;
using GenerationWorker.Silo.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace GenerationWorker.Silo.Cli;

/// <summary>
/// The operator commands of the executable (<c>GenerationWorker.Silo &lt;command&gt;</c>): they work on the same
/// database as the silos, through <c>DATABASE_URL</c> only, without joining the cluster.
/// </summary>
/// <remarks>
/// Exit codes: 0 done; 1 the job's state does not allow it (cancel a completed job) or the database failed;
/// 2 a bad command line, an unknown job id or a bad <c>DATABASE_URL</c>.
/// </remarks>
public static class OperatorCli
{
    /// <summary>Exit code of a command that did what was asked.</summary>
    public const int Success = 0;

    /// <summary>Exit code when the job's state refuses the command, or the database failed.</summary>
    public const int Refused = 1;

    /// <summary>Exit code of a bad command line or unknown job id.</summary>
    public const int UsageError = 2;

    private static readonly Dictionary<string, Func<CliArguments, CliContext, Task<int>>> Commands = new(StringComparer.Ordinal)
    {
        ["enqueue"] = JobCommands.EnqueueAsync,
        ["status"] = JobCommands.StatusAsync,
        ["list"] = JobCommands.ListAsync,
        ["retry"] = JobCommands.RetryAsync,
        ["cancel"] = JobCommands.CancelAsync,
        ["stats"] = StatsCommand.RunAsync,
        ["cost"] = CostCommand.RunAsync,
        ["watch"] = WatchCommand.RunAsync,
    };

    private static readonly Dictionary<string, string[]> Options = new(StringComparer.Ordinal)
    {
        ["enqueue"] = ["type", "prompt", "variants", "aspect-ratio", "quality", "reference", "source", "priority", "client", "max-attempts"],
        ["status"] = [],
        ["list"] = ["status", "limit"],
        ["retry"] = [],
        ["cancel"] = [],
        ["stats"] = [],
        ["cost"] = ["client", "since"],
        ["watch"] = ["interval-ms"],
    };

    private static readonly Dictionary<string, string[]> Flags = new(StringComparer.Ordinal)
    {
        ["retry"] = ["failed"],
    };

    /// <summary>The usage text of <c>help</c>.</summary>
    public const string Usage = """
        Usage: GenerationWorker.Silo [command [options]]
        Without a command the process runs a silo. Commands use DATABASE_URL only.

          migrate                       apply the database schema and exit
          enqueue --type image_generation|image_edit --prompt TEXT [options]
                                        insert a job as the web app does; prints its id. Without
                                        --type: image_edit when --source is given, else image_generation
              --variants N              images to make, 1 to 8 (default 1)
              --aspect-ratio R          e.g. 1:1, 16:9
              --quality 1k|2k|4k        image size
              --reference URL           reference image (repeatable): productImageUrls of a generation,
                                        referenceImages of an edit
              --source URL              the image to edit (image_edit, required there)
              --priority N              lower runs first (default 100)
              --client ID               the tenant, part of the storage path (default operator)
              --max-attempts N          1 to 100 (default 3)
          status <id>                   one job: status, progress, attempts, error, image URLs, times
          list [--status S] [--limit N] newest jobs first (S: pending, processing, completed, failed,
                                        cancelled; N: 1 to 1000, default 20)
          retry <id> | retry --failed   back to pending now with attempts reset (failed, cancelled or
                                        waiting jobs); the last error stays until the next run ends and
                                        images already stored are kept
          cancel <id>                   cancel a pending or processing job, as the web app does
          stats                         jobs by status, the last minute's throughput, the Gemini budget
          cost [--client C] [--since D] Gemini spend (billed, and possibly billed: no answer came) by
                                        client, model and UTC day, newest first (D: yyyy-MM-dd)
          watch [--interval-ms N]       live progress until no job is pending or processing (Ctrl+C stops)
          help                          this text

        Exit codes: 0 done, 1 refused by the job's state or a database error, 2 bad arguments or unknown id.
        """;

    /// <summary>
    /// True when the first argument names a command rather than a host option: any word not starting with '-'
    /// (an unknown word is then answered with the usage and exit code 2 instead of starting a silo).
    /// </summary>
    public static bool Handles(string command) => !command.StartsWith('-');

    /// <summary>A token cancelled by Ctrl+C (the process is not killed: the command ends cleanly).</summary>
    public static CancellationTokenSource CancelOnCtrlC()
    {
        var source = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            source.Cancel();
        };
        return source;
    }

    /// <summary>Runs a command with the database of <c>DATABASE_URL</c> from <paramref name="env"/>.</summary>
    /// <returns>The process exit code.</returns>
    public static async Task<int> RunAsync(
        string[] args, Func<string, string?> env, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        if (args is [] || !NeedsDatabase(args[0]))
        {
            return await RunAsync(args, "", stdout, stderr, cancellationToken);
        }

        ServiceSettings settings;
        try
        {
            settings = ServiceSettings.LoadDatabaseOnly(env);
        }
        catch (ConfigurationException exception)
        {
            await stderr.WriteLineAsync(exception.Message);
            return UsageError;
        }

        var ansi = ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected;
        using var loggers = LoggerFactory.Create(logging => logging.AddWorkerConsole(settings.LogFormat));
        return await RunAsync(args, settings.Database, stdout, stderr, ansi, loggers, cancellationToken);
    }

    /// <summary>Runs a command against <paramref name="connectionString"/>, writing plain text (no ANSI).</summary>
    /// <param name="args">The command and its arguments.</param>
    /// <param name="connectionString">An Npgsql connection string.</param>
    /// <param name="stdout">Where results go.</param>
    /// <param name="stderr">Where errors go.</param>
    /// <param name="cancellationToken">Stops <c>watch</c> (exit 0) and any query.</param>
    /// <returns>The process exit code.</returns>
    public static Task<int> RunAsync(
        string[] args, string connectionString, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        RunAsync(args, new DatabaseSettings { ConnectionString = connectionString }, stdout, stderr, false, NullLoggerFactory.Instance, cancellationToken);

    /// <summary>Runs a command; <paramref name="ansi"/> redraws <c>watch</c> in place.</summary>
    internal static async Task<int> RunAsync(
        string[] args, DatabaseSettings database, TextWriter stdout, TextWriter stderr, bool ansi, ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        var connectionString = database.ConnectionString;
        if (args is [] or ["help" or "--help" or "-h", ..])
        {
            await (args is [] ? stderr : stdout).WriteLineAsync(Usage);
            return args is [] ? UsageError : Success;
        }

        var name = args[0];
        if (name != "migrate" && !Commands.ContainsKey(name))
        {
            await stderr.WriteLineAsync($"unknown command '{name}'\n");
            await stderr.WriteLineAsync(Usage);
            return UsageError;
        }

        try
        {
            if (name == "migrate")
            {
                CliArguments.Parse(args.Skip(1), []).NoPositionals();
                // On the direct URL when given; through a transaction-mode pooler in one transaction.
                await WorkerApp.MigrateAsync(loggers, await StartupDatabase.ResolveRolesAsync(database, loggers.CreateLogger("Startup")));
                await stdout.WriteLineAsync("schema up to date");
                return Success;
            }

            var arguments = CliArguments.Parse(args.Skip(1), Options[name], Flags.GetValueOrDefault(name));
            await using var dataSource = NpgsqlDataSource.Create(connectionString);
            var context = new CliContext(new OperatorStore(dataSource), stdout, stderr, ansi, cancellationToken);
            return await Commands[name](arguments, context);
        }
        catch (CliUsageException exception)
        {
            await stderr.WriteLineAsync($"{name}: {exception.Message}");
            await stderr.WriteLineAsync("run 'GenerationWorker.Silo help' for usage");
            return UsageError;
        }
        catch (NpgsqlException exception)
        {
            await stderr.WriteLineAsync($"{name}: database error: {exception.Message}");
            return Refused;
        }
    }

    private static bool NeedsDatabase(string command) => command == "migrate" || Commands.ContainsKey(command);
}

/// <summary>What a command runs with.</summary>
/// <param name="Store">The job table.</param>
/// <param name="Out">Results.</param>
/// <param name="Error">Errors.</param>
/// <param name="Ansi">True when stdout is a terminal that understands ANSI escapes.</param>
/// <param name="CancellationToken">Ctrl+C.</param>
internal sealed record CliContext(OperatorStore Store, TextWriter Out, TextWriter Error, bool Ansi, CancellationToken CancellationToken);
