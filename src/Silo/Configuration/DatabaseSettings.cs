namespace GenerationWorker.Silo.Configuration;

/// <summary>
/// The database connections as configured. Which connection does what (jobs, Orleans, notifications, migrations) is
/// decided once at start from these and a probe of <c>DATABASE_URL</c>: see <c>Hosting.DatabaseRoles</c>.
/// </summary>
public sealed class DatabaseSettings
{
    /// <summary><c>DATABASE_URL</c>, as an Npgsql connection string: pooled (Neon's default) or direct.</summary>
    public required string ConnectionString { get; init; }

    /// <summary>True when <c>DATABASE_URL</c> names a pooler by convention (a <c>-pooler</c> host, <c>pgbouncer=true</c>).</summary>
    public bool NamesPooler { get; init; }

    /// <summary>
    /// <c>DATABASE_URL_UNPOOLED</c> (Neon's and Vercel's name), else <c>DIRECT_URL</c> (Prisma's), as an Npgsql
    /// connection string: a direct connection for what needs a session (LISTEN, the migration lock); default: none.
    /// </summary>
    public string? UnpooledConnectionString { get; init; }

    /// <summary>The variable <see cref="UnpooledConnectionString"/> came from, for log lines: <c>DATABASE_URL_UNPOOLED</c> or <c>DIRECT_URL</c>.</summary>
    public string UnpooledVariable { get; init; } = "DATABASE_URL_UNPOOLED";

    /// <summary><c>LISTEN_ENABLED</c> as set; null (the default): decided at start from the connections.</summary>
    public bool? Listen { get; init; }

    /// <summary><c>DATABASE_PREPARE_STATEMENTS</c> as set; null (the default): decided at start from the probe.</summary>
    public bool? PrepareStatements { get; init; }
}
