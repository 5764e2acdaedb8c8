using GenerationWorker.Grains.Configuration;
using GenerationWorker.Grains.Postgres;
using GenerationWorker.Silo.Configuration;

namespace GenerationWorker.Silo.Hosting;

/// <summary>
/// Which connection does what, decided once at start from the settings and a probe of <c>DATABASE_URL</c>.
/// </summary>
/// <remarks>
/// Neon (and its Vercel and Railway integrations) hands out a pooled <c>DATABASE_URL</c> (a <c>-pooler</c> host:
/// PgBouncer in transaction mode) and the direct <c>DATABASE_URL_UNPOOLED</c>. Through a transaction-mode pooler every
/// transaction may run on another server session, so what needs a session moves to the direct connection: the LISTEN
/// (else the dispatchers poll) and the migrations' advisory lock (else one transaction-scoped lock around the whole
/// run). Statements are not prepared there unless the pooler keeps them. Jobs, Orleans membership and grain storage
/// run single autocommit statements that set no session state, so they stay on <c>DATABASE_URL</c>: the pooler's many
/// client slots, not the server's few direct ones. An explicit <c>LISTEN_ENABLED</c> or
/// <c>DATABASE_PREPARE_STATEMENTS</c> wins over what was detected.
/// </remarks>
/// <param name="Jobs">The service's pool: claims, progress, completions, the health check (<c>DATABASE_URL</c>).</param>
/// <param name="PrepareStatements">Whether the service's statements are prepared on their connections.</param>
/// <param name="Orleans">Orleans membership and grain storage (<c>DATABASE_URL</c>).</param>
/// <param name="Listen">Where the notification listener connects; null: no LISTEN, the dispatchers poll.</param>
/// <param name="Migrations">Where the schema is applied.</param>
/// <param name="MigrationLocking">How the migration run keeps other silos out.</param>
/// <param name="Summary">The start-up line: which connection does what (hosts only, never credentials).</param>
/// <param name="Warnings">What the operator should change, if anything (each line names the variable).</param>
public sealed record DatabaseRoles(
    string Jobs,
    bool PrepareStatements,
    string Orleans,
    string? Listen,
    string Migrations,
    MigrationLocking MigrationLocking,
    string Summary,
    IReadOnlyList<string> Warnings)
{
    /// <summary>Decides from <paramref name="settings"/> and what the probe found behind <c>DATABASE_URL</c>.</summary>
    public static DatabaseRoles Decide(DatabaseSettings settings, ConnectionBehaviour probed)
    {
        var pooler = probed.TransactionPooler || settings.NamesPooler;
        // A -pooler host the probe took for a server (a busy pool) is trusted by its name; whether it keeps prepared
        // statements is then unknown, so they stay off.
        var keepsPrepared = probed.TransactionPooler ? probed.KeepsPreparedStatements : !settings.NamesPooler;
        var unpooled = settings.UnpooledConnectionString;
        var unpooledName = settings.UnpooledVariable;
        var warnings = new List<string>();

        var prepare = settings.PrepareStatements ?? keepsPrepared;
        if (prepare && !keepsPrepared)
        {
            warnings.Add("DATABASE_PREPARE_STATEMENTS=true although DATABASE_URL is a transaction-mode pooler that may not keep prepared statements: expect 'prepared statement does not exist' errors unless it does (PgBouncer 1.21+ with max_prepared_statements)");
        }

        string? listen;
        string listenText;
        if (settings.Listen == false)
        {
            (listen, listenText) = (null, "off (LISTEN_ENABLED=false): polled every POLL_INTERVAL_MS");
        }
        else if (unpooled is not null)
        {
            (listen, listenText) = (unpooled, "LISTEN on " + unpooledName);
        }
        else if (!pooler || settings.Listen == true)
        {
            (listen, listenText) = (settings.ConnectionString, "LISTEN on DATABASE_URL");
        }
        else
        {
            (listen, listenText) = (null, $"off (a transaction-mode pooler does not deliver them and {unpooledName} is not set): polled every POLL_INTERVAL_MS");
            warnings.Add($"DATABASE_URL is a transaction-mode pooler and {unpooledName} is not set: new jobs are found by polling every POLL_INTERVAL_MS instead of within milliseconds; set {unpooledName} (or DIRECT_URL) to the direct (unpooled) URL");
        }

        var (migrations, locking, migrationsText) = unpooled is not null
            ? (unpooled, MigrationLocking.Session, unpooledName + " under a session advisory lock")
            : pooler
                ? (settings.ConnectionString, MigrationLocking.Transaction, "DATABASE_URL in one transaction under a transaction advisory lock")
                : (settings.ConnectionString, MigrationLocking.Session, "DATABASE_URL under a session advisory lock");

        var kind = probed.TransactionPooler ? "a transaction-mode pooler (probed)"
            : settings.NamesPooler ? "a transaction-mode pooler (by its -pooler host name)"
            : "a PostgreSQL server (probed)";
        var summary = $"Database: DATABASE_URL ({DatabaseUrl.HostOf(settings.ConnectionString)}) is {kind}. "
            + $"Jobs, Orleans membership and grain storage: DATABASE_URL, {(prepare ? "statements prepared" : "no prepared statements")}. "
            + $"Job notifications: {listenText}. Migrations: {migrationsText}."
            + (unpooled is null ? "" : $" ({unpooledName}: {DatabaseUrl.HostOf(unpooled)})");
        return new DatabaseRoles(settings.ConnectionString, prepare, settings.ConnectionString, listen, migrations, locking, summary, warnings);
    }

    /// <summary>Sets the worker's options that follow from the roles (LISTEN on or off, prepared statements).</summary>
    public void ApplyTo(WorkerOptions worker)
    {
        worker.ListenEnabled = Listen is not null;
        worker.PrepareStatements = PrepareStatements;
    }
}
