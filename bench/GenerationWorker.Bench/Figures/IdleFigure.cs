using GenerationWorker.Bench.Harness;
using GenerationWorker.TestSupport;

namespace GenerationWorker.Bench;

/// <summary>
/// What an idle cluster costs the database: two healthy silos with no jobs, their statements counted by
/// pg_stat_statements (calls, in the scenario's database only, membership and grain storage included) over an idle
/// period, in LISTEN mode and in polling mode. Reported per silo and per minute.
/// </summary>
internal static class IdleFigure
{
    private const int SiloCount = 2;

    /// <summary>Measures both modes.</summary>
    public static async Task<FigureResult> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var idle = TimeSpan.FromSeconds(options.Short ? 15 : 60);
        var result = new FigureResult("idle");
        var table = new Table(
            $"idle statements, {SiloCount} silos, {idle.TotalSeconds:0} s measured after 5 s of settling (pg_stat_statements calls)",
            "mode", "transactions", "per silo per min", "statements (pg_stat_statements)", "per silo per min", "evictions", "target");
        var modes = new (string Name, Dictionary<string, string?> Env)[]
        {
            ("listen", new() { ["LISTEN_ENABLED"] = "true" }),
            ("polling 1000 ms", new() { ["LISTEN_ENABLED"] = "false", ["POLL_INTERVAL_MS"] = "1000" }),
        };
        var data = new List<object>();
        foreach (var (name, env) in modes)
        {
            var (calls, top, transactions, evictions) = await MeasureAsync(name, env, idle, cancellationToken);
            var perSiloPerMinute = calls / idle.TotalMinutes / SiloCount;
            var transactionsPerSiloPerMinute = transactions / idle.TotalMinutes / SiloCount;
            table.Row(name, transactions, transactionsPerSiloPerMinute, calls, perSiloPerMinute, evictions,
                name == "listen" ? $"<= 30 statements: {Figures.Verdict(perSiloPerMinute <= 30)}" : "");
            var topTable = new Table($"top statements, {name} (calls per silo per minute)", "per silo/min", "calls", "statement");
            foreach (var statement in top.Take(12))
            {
                topTable.Row(statement.Calls / idle.TotalMinutes / SiloCount, statement.Calls, Shorten(statement.Query));
            }

            result.Tables.Add(topTable);
            data.Add(new
            {
                mode = name, environment = env, idleSeconds = idle.TotalSeconds, silos = SiloCount, calls, perSiloPerMinute, transactions,
                transactionsPerSiloPerMinute, pgStatStatementsEvictions = evictions, statements = top,
            });
        }

        result.Tables.Insert(0, table);
        result.Notes.Add("the target is on statements (pg_stat_statements calls of the bench database). transactions: xact_commit + xact_rollback of the bench database in pg_stat_database, shown beside them as a cross-check that no statement escaped pg_stat_statements ('evictions' counts entries it dropped during the measurement). They are higher because they also count transactions no client ran: a run with log_statement = 'all' logged exactly the statements pg_stat_statements counted and nothing else from any connection to the bench database, and a database with no client at all gains a few transactions per minute here (autovacuum, most busy on a database just created and filled by the migrations).");
        result.Notes.Add("default budget settings (MAX_JOBS_PER_MINUTE=60 per 60 s); counts every statement the silos ran in the bench database: Orleans membership, the quota grain's storage, the dispatcher's claims and rescues.");
        result.Set("modes", data);
        return result;
    }

    private static async Task<(long Calls, List<Statement> Top, long Transactions, long Evictions)> MeasureAsync(
        string mode, Dictionary<string, string?> modeEnv, TimeSpan idle, CancellationToken cancellationToken)
    {
        await using var run = await BenchRun.CreateAsync("idle-" + mode.Split(' ')[0], cancellationToken);
        var jobs = new Jobs(run.ConnectionString);
        await jobs.ExecuteAsync("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", cancellationToken);
        var emulator = await run.StartEmulatorAsync(new Dictionary<string, string?>(), cancellationToken);
        var env = run.SiloEnvironment(emulator);
        foreach (var (key, value) in modeEnv)
        {
            env[key] = value;
        }

        await run.StartSilosAsync(SiloCount, env, cancellationToken);
        await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);
        await jobs.ExecuteAsync(
            // Every entry, not only this database's: entries of other databases fill the table, and evicting them
            // during the measurement would drop some of this one's calls.
            "SELECT pg_stat_statements_reset()",
            cancellationToken);
        var admin = new Jobs(PostgresServer.AdminConnectionString);
        const string Transactions = "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = @db";
        const string Evictions = "SELECT dealloc FROM pg_stat_statements_info";
        var transactionsBefore = await admin.ScalarAsync<long>(Transactions, cancellationToken, ("db", run.DatabaseName));
        var evictionsBefore = await jobs.ScalarAsync<long>(Evictions, cancellationToken);
        await Task.Delay(idle, cancellationToken);
        var transactionsAfter = await admin.ScalarAsync<long>(Transactions, cancellationToken, ("db", run.DatabaseName));
        var evictionsAfter = await jobs.ScalarAsync<long>(Evictions, cancellationToken);
        var statements = await jobs.QueryAsync(
            """
            SELECT query, calls FROM pg_stat_statements
            WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND query NOT ILIKE '%pg_stat_statements%'
            ORDER BY calls DESC
            """,
            r => new Statement(r.GetString(0), r.GetInt64(1)), cancellationToken);
        return (statements.Sum(s => s.Calls), statements, transactionsAfter - transactionsBefore, evictionsAfter - evictionsBefore);
    }

    private static string Shorten(string query)
    {
        var flat = string.Join(' ', query.Split((char[])['\n', '\r', '\t', ' '], StringSplitOptions.RemoveEmptyEntries));
        return flat.Length <= 110 ? flat : flat[..110] + "...";
    }

    private sealed record Statement(string Query, long Calls);
}
