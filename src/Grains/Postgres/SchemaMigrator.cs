using System.Data;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace GenerationWorker.Grains.Postgres;

/// <summary>One schema migration: the numeric prefix of its file and the file name without <c>.sql</c>.</summary>
/// <param name="Version">The number the file name starts with, for example 1 for <c>0001_orleans.sql</c>.</param>
/// <param name="Name">The file name without extension, for example <c>0001_orleans</c>.</param>
public sealed record SchemaMigration(int Version, string Name);

/// <summary>How a migration run keeps other migrators out.</summary>
public enum MigrationLocking
{
    /// <summary>
    /// A session advisory lock held on one connection for the whole run; each migration in its own transaction.
    /// Needs a connection whose session lasts (a server, a session-mode pooler).
    /// </summary>
    Session,

    /// <summary>
    /// The run in one transaction under a transaction advisory lock, for a transaction-mode pooler (nothing of a session
    /// outlives a transaction there). A failing migration rolls back the run's transaction. A migration marked to run
    /// outside a transaction gets a locked transaction of its own, which commits the run so far before it and records
    /// it after it, while a second connection runs its statements, without a lock timeout (a session setting would
    /// stay on the pooler's backend for its other clients).
    /// </summary>
    Transaction,
}

/// <summary>What <see cref="SchemaMigrator.MigrateAsync(NpgsqlDataSource, CancellationToken)"/> found and did.</summary>
/// <param name="AppliedNow">Migrations this call applied, in order.</param>
/// <param name="AlreadyApplied">Known migrations this call found applied (before it, or by a concurrent run), in order.</param>
public sealed record MigrationReport(IReadOnlyList<SchemaMigration> AppliedNow, IReadOnlyList<SchemaMigration> AlreadyApplied);

/// <summary>
/// Brings a PostgreSQL database up to the service's schema by applying the embedded <c>sql/migrations/NNNN_name.sql</c>
/// files in the order of their numbers, each at most once.
/// </summary>
/// <remarks>
/// <para>
/// Several silos may start at once against one database. The whole run holds a session advisory lock on one connection,
/// so a second migrator waits (polling the lock: blocked on it, its snapshot would hold up a concurrent index build of
/// the holder) and then finds the migrations recorded. Each migration runs in its own transaction
/// together with its <c>schema_migration</c> row: a failing file leaves neither its objects nor its row behind. A file is
/// sent as one multi-statement command, which keeps <c>$$</c>-quoted function bodies intact. Only the version is
/// recorded (no checksum): a recorded file never runs again, whatever its text becomes.
/// </para>
/// <para>
/// <c>generation_job</c> is the web app's live table. Every migration runs with the <c>lock_timeout</c> of
/// <see cref="MigrationLockPolicy"/> and is tried again after a pause when it times out, so a migration never queues
/// the app's queries for long behind a lock it waits for. A file whose first line is <c>-- migrate: no-transaction</c>
/// runs outside a transaction, statement by statement (see <see cref="MigrationScript"/>), for
/// <c>CREATE INDEX CONCURRENTLY IF NOT EXISTS</c>: the build takes no lock that blocks the app's writes. An index of
/// the file that a failed build left INVALID is dropped before each attempt, else IF NOT EXISTS would keep it; the
/// file's row is written once every statement has run.
/// </para>
/// </remarks>
/// <param name="logger">Where applied, retried and failed migrations are logged.</param>
/// <param name="lockPolicy">Lock timeout and retries; default <see cref="MigrationLockPolicy.Default"/>.</param>
/// <param name="time">Waits out the pauses between attempts; default <see cref="TimeProvider.System"/>.</param>
public sealed partial class SchemaMigrator(
    ILogger<SchemaMigrator> logger, MigrationLockPolicy? lockPolicy = null, TimeProvider? time = null)
{
    private const string ResourcePrefix = "migrations/";
    private const string ResourceSuffix = ".sql";
    private const string Savepoint = "migration";

    /// <summary>How often a migrator tries the run's lock while another migrator holds it.</summary>
    private static readonly TimeSpan LockPoll = TimeSpan.FromMilliseconds(200);

    private static readonly Regex FileName = new(@"^(?<version>\d+)_[A-Za-z0-9_]+$", RegexOptions.CultureInvariant);

    private static readonly Lazy<IReadOnlyList<MigrationScript>> Embedded = new(() => LoadEmbedded(typeof(SchemaMigrator).Assembly));

    private readonly MigrationLockPolicy _lockPolicy = lockPolicy ?? MigrationLockPolicy.Default;
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>The migrations embedded in this assembly, ordered by version.</summary>
    public static IReadOnlyList<SchemaMigration> Known => [.. Embedded.Value.Select(script => script.Migration)];

    /// <summary>The embedded migration files, ordered by version.</summary>
    internal static IReadOnlyList<MigrationScript> Scripts => Embedded.Value;

    /// <summary>Applies the missing migrations to the database of <paramref name="connectionString"/>.</summary>
    /// <param name="connectionString">An Npgsql connection string whose user may create tables and functions.</param>
    /// <param name="ct">Cancels waiting for the lock and the migration in progress (which then rolls back).</param>
    public Task<MigrationReport> MigrateAsync(string connectionString, CancellationToken ct) =>
        MigrateAsync(connectionString, MigrationLocking.Session, ct);

    /// <summary>Applies the missing migrations to the database of <paramref name="connectionString"/>.</summary>
    /// <param name="connectionString">An Npgsql connection string whose user may create tables and functions.</param>
    /// <param name="locking">Session for a direct connection, Transaction through a transaction-mode pooler.</param>
    /// <param name="ct">Cancels waiting for the lock and the migration in progress (which then rolls back).</param>
    /// <exception cref="MigrationLockTimeoutException">A migration timed out waiting for a lock in every attempt.</exception>
    public async Task<MigrationReport> MigrateAsync(string connectionString, MigrationLocking locking, CancellationToken ct)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        return await MigrateAsync(dataSource, Embedded.Value, locking, ct);
    }

    /// <summary>Applies the missing migrations to the database of <paramref name="dataSource"/>.</summary>
    /// <param name="dataSource">The data source; one of its connections is held for the whole run.</param>
    /// <param name="ct">Cancels waiting for the lock and the migration in progress (which then rolls back).</param>
    public Task<MigrationReport> MigrateAsync(NpgsqlDataSource dataSource, CancellationToken ct) =>
        MigrateAsync(dataSource, Embedded.Value, MigrationLocking.Session, ct);

    /// <summary>Applies those of <paramref name="scripts"/> (ordered by version) that the database lacks.</summary>
    internal Task<MigrationReport> MigrateAsync(
        NpgsqlDataSource dataSource, IReadOnlyList<MigrationScript> scripts, CancellationToken ct) =>
        MigrateAsync(dataSource, scripts, MigrationLocking.Session, ct);

    /// <summary>Applies those of <paramref name="scripts"/> (ordered by version) that the database lacks.</summary>
    internal async Task<MigrationReport> MigrateAsync(
        NpgsqlDataSource dataSource, IReadOnlyList<MigrationScript> scripts, MigrationLocking locking, CancellationToken ct)
    {
        if (locking == MigrationLocking.Transaction)
        {
            return await MigrateInTransactionsAsync(dataSource, scripts, ct);
        }

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var waited = Stopwatch.StartNew();
        while (!await TryLockAsync(connection, null, "MigrationLock", waited, ct))
        {
            await Task.Delay(LockPoll, _time, ct);
        }

        try
        {
            await ExecuteAsync(connection, null, SqlQueries.Get("MigrationCreateTable"), ct);
            var present = await ListAppliedAsync(connection, null, ct);

            var appliedNow = new List<SchemaMigration>();
            foreach (var script in scripts.Where(script => !present.Contains(script.Migration.Version)))
            {
                await ApplyWithRetriesAsync(script, script.InTransaction
                    ? () => ApplyInOwnTransactionAsync(connection, script, ct)
                    : () => ApplyOutsideTransactionAsync(connection, script, setLockTimeout: true, ct), ct);
                appliedNow.Add(script.Migration);
            }

            return Report(scripts, appliedNow);
        }
        finally
        {
            // A broken connection has lost its session and with it the lock; an open one must give it back before it
            // returns to the pool.
            if (connection.State == ConnectionState.Open)
            {
                await ExecuteAsync(connection, null, SqlQueries.Get("MigrationUnlock"), CancellationToken.None);
            }
        }
    }

    /// <summary>
    /// The run through a transaction-mode pooler: the transactional migrations in locked transactions, each no-transaction
    /// migration between two of them (see <see cref="MigrationLocking.Transaction"/>).
    /// </summary>
    private async Task<MigrationReport> MigrateInTransactionsAsync(
        NpgsqlDataSource dataSource, IReadOnlyList<MigrationScript> scripts, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var appliedNow = new List<SchemaMigration>();
        while (true)
        {
            await using var transaction = await BeginLockedTransactionAsync(connection, ct);
            await ExecuteAsync(connection, transaction, SqlQueries.Get("MigrationCreateTable"), ct);
            var present = await ListAppliedAsync(connection, transaction, ct);
            var pending = scripts.Where(script => !present.Contains(script.Migration.Version)).ToList();
            if (pending.Count == 0)
            {
                await transaction.CommitAsync(ct);
                return Report(scripts, appliedNow);
            }

            await SetLockTimeoutAsync(connection, transaction, local: true, ct);
            if (pending[0].InTransaction)
            {
                foreach (var script in pending.TakeWhile(script => script.InTransaction))
                {
                    await ApplyWithRetriesAsync(script, () => ApplyInSavepointAsync(connection, transaction, script, ct), ct);
                    appliedNow.Add(script.Migration);
                }
            }
            else
            {
                // This transaction keeps the lock while another connection runs the statements. It records the
                // migration first (committed only once the statements have run): a finished SELECT's portal would keep
                // its snapshot until the next statement, and a concurrent index build waits for every older snapshot.
                // It holds no lock on the migrated tables either, so the build never waits for it.
                var script = pending[0];
                await RecordAsync(connection, transaction, script, ct);
                await using var outside = await dataSource.OpenConnectionAsync(ct);
                await ApplyWithRetriesAsync(
                    script, () => ApplyOutsideTransactionAsync(outside, script, setLockTimeout: false, ct), ct);
                appliedNow.Add(script.Migration);
            }

            await transaction.CommitAsync(ct);
        }
    }

    /// <summary>Tries the run's lock once; logs the first miss and the acquisition.</summary>
    private async Task<bool> TryLockAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, string query, Stopwatch waited, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(SqlQueries.Get(query), connection, transaction);
        if ((bool)(await command.ExecuteScalarAsync(ct))!)
        {
            LogLockAcquired(waited.ElapsedMilliseconds);
            return true;
        }

        if (waited.Elapsed < LockPoll)
        {
            LogLockBusy((long)LockPoll.TotalMilliseconds);
        }

        return false;
    }

    /// <summary>Begins a transaction that holds the run's transaction-scoped lock, polling until it is free.</summary>
    private async Task<NpgsqlTransaction> BeginLockedTransactionAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var transaction = await connection.BeginTransactionAsync(ct);
            try
            {
                if (await TryLockAsync(connection, transaction, "MigrationLockTransaction", waited, ct))
                {
                    return transaction;
                }
            }
            catch
            {
                await transaction.DisposeAsync();
                throw;
            }

            // Between tries the pooler gets its backend back.
            await transaction.DisposeAsync();
            await Task.Delay(LockPoll, _time, ct);
        }
    }

    /// <summary>Parses a migration resource: its name must be <c>migrations/NNNN_name.sql</c>.</summary>
    internal static MigrationScript Parse(string resourceName, string text)
    {
        if (!resourceName.StartsWith(ResourcePrefix, StringComparison.Ordinal) ||
            !resourceName.EndsWith(ResourceSuffix, StringComparison.Ordinal))
        {
            throw new FormatException($"'{resourceName}' is not a migration resource ({ResourcePrefix}NNNN_name{ResourceSuffix}).");
        }

        var name = resourceName[ResourcePrefix.Length..^ResourceSuffix.Length];
        var match = FileName.Match(name);
        if (!match.Success ||
            !int.TryParse(match.Groups["version"].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var version) ||
            version <= 0)
        {
            throw new FormatException(
                $"Migration file '{name}{ResourceSuffix}' must be named NNNN_name{ResourceSuffix} with a positive number NNNN.");
        }

        return MigrationScript.Create(new SchemaMigration(version, name), text);
    }

    private static IReadOnlyList<MigrationScript> LoadEmbedded(System.Reflection.Assembly assembly)
    {
        var scripts = assembly.GetManifestResourceNames()
            .Where(resource => resource.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            .Select(resource => Parse(resource, EmbeddedText.Read(assembly, resource)))
            .OrderBy(script => script.Migration.Version)
            .ToList();

        var duplicate = scripts.GroupBy(script => script.Migration.Version).FirstOrDefault(group => group.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException(
                $"Migrations {string.Join(" and ", duplicate.Select(script => script.Migration.Name))} share version {duplicate.Key}.");
        }

        return scripts;
    }

    private MigrationReport Report(IReadOnlyList<MigrationScript> scripts, List<SchemaMigration> appliedNow)
    {
        var alreadyApplied = scripts.Select(script => script.Migration).Except(appliedNow).ToList();
        if (appliedNow.Count == 0)
        {
            LogUpToDate(alreadyApplied.Count);
        }

        return new MigrationReport(appliedNow, alreadyApplied);
    }

    /// <summary>
    /// Runs <paramref name="attempt"/> until it succeeds, pausing after each lock timeout as <see cref="MigrationLockPolicy"/>
    /// says; each attempt must leave nothing of a timed-out try behind.
    /// </summary>
    private async Task ApplyWithRetriesAsync(MigrationScript script, Func<Task> attempt, CancellationToken ct)
    {
        LogApplying(script.Migration.Version, script.Migration.Name);
        var elapsed = Stopwatch.StartNew();
        for (var number = 1; ; number++)
        {
            try
            {
                await attempt();
                break;
            }
            catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.LockNotAvailable && number < _lockPolicy.Attempts)
            {
                var pause = _lockPolicy.BackoffAfter(number);
                LogLockTimedOut(script.Migration.Version, script.Migration.Name, number, _lockPolicy.Attempts,
                    (long)pause.TotalMilliseconds, exception.MessageText);
                await Task.Delay(pause, _time, ct);
            }
            catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.LockNotAvailable)
            {
                LogLockGaveUp(exception, script.Migration.Version, script.Migration.Name, _lockPolicy.Attempts);
                throw new MigrationLockTimeoutException(
                    $"Schema migration {script.Migration.Name} was not applied: it waited longer than the lock timeout of "
                    + $"{_lockPolicy.LockTimeout.TotalMilliseconds} ms for a lock in each of {_lockPolicy.Attempts} attempts. "
                    + "Another session holds a conflicting lock on a table it changes (see pg_locks and pg_stat_activity, "
                    + "a long transaction on generation_job say); start again once it has ended.", exception);
            }
            catch (Exception exception) when (exception is NpgsqlException or OperationCanceledException)
            {
                LogFailed(exception, script.Migration.Version, script.Migration.Name);
                throw;
            }
        }

        LogApplied(script.Migration.Version, script.Migration.Name, elapsed.ElapsedMilliseconds);
    }


    private async Task ApplyInOwnTransactionAsync(NpgsqlConnection connection, MigrationScript script, CancellationToken ct)
    {
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await SetLockTimeoutAsync(connection, transaction, local: true, ct);
        await ExecuteAsync(connection, transaction, script.Text, ct);
        await RecordAsync(connection, transaction, script, ct);
        await transaction.CommitAsync(ct);
    }

    /// <summary>Runs a migration in the run's transaction, behind a savepoint that a lock timeout rolls back to.</summary>
    private static async Task ApplyInSavepointAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, MigrationScript script, CancellationToken ct)
    {
        await transaction.SaveAsync(Savepoint, ct);
        try
        {
            await ExecuteAsync(connection, transaction, script.Text, ct);
            await RecordAsync(connection, transaction, script, ct);
        }
        catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.LockNotAvailable)
        {
            await transaction.RollbackAsync(Savepoint, ct);
            throw;
        }

        await transaction.ReleaseAsync(Savepoint, ct);
    }

    /// <summary>
    /// Runs a no-transaction migration's statements one by one, each its own implicit transaction, after dropping the
    /// INVALID leftovers of its indexes; records it when <paramref name="setLockTimeout"/> (a session of its own, else
    /// the caller records it under its lock).
    /// </summary>
    private async Task ApplyOutsideTransactionAsync(
        NpgsqlConnection connection, MigrationScript script, bool setLockTimeout, CancellationToken ct)
    {
        if (setLockTimeout)
        {
            await SetLockTimeoutAsync(connection, null, local: false, ct);
        }

        try
        {
            foreach (var (index, drop) in await InvalidIndexesAsync(connection, script, ct))
            {
                LogDroppingInvalidIndex(script.Migration.Version, script.Migration.Name, index);
                await ExecuteAsync(connection, null, drop, ct);
            }

            foreach (var statement in script.Statements)
            {
                await ExecuteAsync(connection, null, statement, ct);
            }

            if (setLockTimeout)
            {
                await RecordAsync(connection, null, script, ct);
            }
        }
        finally
        {
            if (setLockTimeout && connection.State == ConnectionState.Open)
            {
                await ExecuteAsync(connection, null, SqlQueries.Get("MigrationLockTimeoutReset"), CancellationToken.None);
            }
        }
    }

    private static async Task<List<(string Index, string Drop)>> InvalidIndexesAsync(
        NpgsqlConnection connection, MigrationScript script, CancellationToken ct)
    {
        var invalid = new List<(string, string)>();
        if (script.ConcurrentIndexes.Count == 0)
        {
            return invalid;
        }

        await using var command = new NpgsqlCommand(SqlQueries.Get("MigrationInvalidIndexes"), connection);
        command.Parameters.AddWithValue("Names", script.ConcurrentIndexes.ToArray());
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            invalid.Add((reader.GetString(0), reader.GetString(1)));
        }

        return invalid;
    }

    private async Task SetLockTimeoutAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, bool local, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(SqlQueries.Get("MigrationLockTimeout"), connection, transaction);
        command.Parameters.AddWithValue("LockTimeout",
            ((long)_lockPolicy.LockTimeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture));
        command.Parameters.AddWithValue("Local", local);
        await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task RecordAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, MigrationScript script, CancellationToken ct)
    {
        await using var record = new NpgsqlCommand(SqlQueries.Get("MigrationRecord"), connection, transaction);
        record.Parameters.AddWithValue("Version", script.Migration.Version);
        record.Parameters.AddWithValue("Name", script.Migration.Name);
        await record.ExecuteNonQueryAsync(ct);
    }

    private static async Task<HashSet<int>> ListAppliedAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken ct)
    {
        var versions = new HashSet<int>();
        await using var command = new NpgsqlCommand(SqlQueries.Get("MigrationListApplied"), connection, transaction);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            versions.Add(reader.GetInt32(0));
        }

        return versions;
    }

    private static async Task ExecuteAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(ct);
    }
}
