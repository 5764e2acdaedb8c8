using Npgsql;

namespace GenerationWorker.Grains.Postgres;

/// <summary>What the other end of a connection string turned out to be.</summary>
/// <param name="TransactionPooler">
/// True when transactions of one client connection run on different server sessions (PgBouncer or Neon's
/// <c>-pooler</c> host in transaction mode): nothing of a session (LISTEN, session advisory locks, <c>SET</c>) lasts
/// past a transaction. False for a PostgreSQL server or a session-mode pooler.
/// </param>
/// <param name="KeepsPreparedStatements">
/// True when a statement prepared on one client connection still runs after the pooler lent another server session
/// (PgBouncer 1.21+ with <c>max_prepared_statements</c>); always true for a server.
/// </param>
public sealed record ConnectionBehaviour(bool TransactionPooler, bool KeepsPreparedStatements)
{
    /// <summary>A PostgreSQL server (or a session-mode pooler): sessions last as long as connections.</summary>
    public static ConnectionBehaviour Server { get; } = new(false, true);
}

/// <summary>
/// Tells a transaction-mode pooler from a PostgreSQL server, once at start-up, with two unpooled connections and four
/// statements.
/// </summary>
/// <remarks>
/// Connection A prepares <c>SELECT pg_backend_pid()</c> and runs it (backend a1), then stays open and idle. Connection
/// B opens a transaction and asks its backend (b). A server gives every open connection its own backend, so b is never
/// a1; a transaction pooler lends B the backend A just gave back (PgBouncer reuses the last freed one), so b == a1.
/// A then runs its prepared statement again while B still holds that backend: on a server it runs on a1; through a
/// pooler it must run on another backend, where it either fails with "prepared statement does not exist" (PgBouncer
/// before 1.21) or runs because the pooler re-prepares it. A pooler under load may lend B another backend, but then A
/// is also likely to land elsewhere: any change of A's backend proves a pooler. A fresh connection that finds a
/// prepared statement of its name already there ("already exists") is on a backend another client used: a pooler too.
/// The probe never mistakes a server for a pooler.
/// A pooler that keeps no prepared statements leaves A's statement on backend a1; B, holding a1, deallocates it, so
/// the probe leaves nothing behind for the pooler's next clients (unless the pooler, under load, lent a1 elsewhere).
/// </remarks>
public static class PoolerProbe
{
    /// <summary>The SQLSTATE of "prepared statement does not exist".</summary>
    private const string InvalidSqlStatementName = "26000";

    /// <summary>The SQLSTATE of "prepared statement already exists".</summary>
    private const string DuplicatePreparedStatement = "42P05";

    /// <summary>Probes the database of <paramref name="connectionString"/>.</summary>
    public static async Task<ConnectionBehaviour> ProbeAsync(string connectionString, CancellationToken cancellationToken)
    {
        var unpooled = new NpgsqlConnectionStringBuilder(connectionString)
        {
            Pooling = false,
            MaxAutoPrepare = 0,
            ApplicationName = "generation-worker-probe",
        }.ConnectionString;
        var sql = SqlQueries.Get("DatabaseBackendPid");
        await using var a = new NpgsqlConnection(unpooled);
        await a.OpenAsync(cancellationToken);
        await using var prepared = new NpgsqlCommand(sql, a);
        int first;
        try
        {
            await prepared.PrepareAsync(cancellationToken);
            first = (int)(await prepared.ExecuteScalarAsync(cancellationToken))!;
        }
        catch (PostgresException exception) when (exception.SqlState is InvalidSqlStatementName or DuplicatePreparedStatement)
        {
            // Prepared on one backend and run on another, or a backend with another client's statements: a pooler
            // that does not keep prepared statements.
            return new ConnectionBehaviour(true, false);
        }

        await using var b = new NpgsqlConnection(unpooled);
        await b.OpenAsync(cancellationToken);
        await using var held = await b.BeginTransactionAsync(cancellationToken);
        await using var other = new NpgsqlCommand(sql, b, held);
        var lent = (int)(await other.ExecuteScalarAsync(cancellationToken))!;
        int? second;
        try
        {
            second = (int)(await prepared.ExecuteScalarAsync(cancellationToken))!;
        }
        catch (PostgresException exception) when (exception.SqlState == InvalidSqlStatementName)
        {
            second = null;
        }

        if (second is null && lent == first)
        {
            // B holds the backend A prepared on: drop A's statement there (prepared statements outlive transactions).
            await using var deallocate = new NpgsqlCommand(SqlQueries.Get("DatabaseDeallocateAll"), b, held);
            await deallocate.ExecuteNonQueryAsync(cancellationToken);
        }

        await held.CommitAsync(cancellationToken);
        return second is null ? new ConnectionBehaviour(true, false)
            : lent == first || second != first ? new ConnectionBehaviour(true, true)
            : ConnectionBehaviour.Server;
    }
}
