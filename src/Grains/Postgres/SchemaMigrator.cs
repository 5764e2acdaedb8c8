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
    /// The whole run in one transaction under a transaction advisory lock, for a transaction-mode pooler (nothing of a
    /// session outlives a transaction there). A failing migration rolls back the whole run.
    /// </summary>
    Transaction,
}

/// <summary>What <see cref="SchemaMigrator.MigrateAsync(NpgsqlDataSource, CancellationToken)"/> found and did.</summary>
/// <param name="AppliedNow">Migrations this call applied, in order.</param>
/// <param name="AlreadyApplied">Known migrations the database already held before this call, in order.</param>
public sealed record MigrationReport(IReadOnlyList<SchemaMigration> AppliedNow, IReadOnlyList<SchemaMigration> AlreadyApplied);

/// <summary>
/// Brings a PostgreSQL database up to the service's schema by applying the embedded <c>sql/migrations/NNNN_name.sql</c>
/// files in the order of their numbers, each at most once.
/// </summary>
/// <remarks>
/// Several silos may start at once against one database. The whole run holds a session advisory lock on one connection,
/// so a second migrator waits and then finds the migrations recorded. Each migration runs in its own transaction
/// together with its <c>schema_migration</c> row: a failing file leaves neither its objects nor its row behind. A file is
/// sent as one multi-statement command, which keeps <c>$$</c>-quoted function bodies intact.
/// </remarks>
public sealed partial class SchemaMigrator(ILogger<SchemaMigrator> logger)
{
    private const string ResourcePrefix = "migrations/";
    private const string ResourceSuffix = ".sql";

    private static readonly Regex FileName = new(@"^(?<version>\d+)_[A-Za-z0-9_]+$", RegexOptions.CultureInvariant);

    private static readonly Lazy<IReadOnlyList<MigrationScript>> Embedded = new(() => LoadEmbedded(typeof(SchemaMigrator).Assembly));

    /// <summary>The migrations embedded in this assembly, ordered by version.</summary>
    public static IReadOnlyList<SchemaMigration> Known => [.. Embedded.Value.Select(script => script.Migration)];

    /// <summary>Applies the missing migrations to the database of <paramref name="connectionString"/>.</summary>
    /// <param name="connectionString">An Npgsql connection string whose user may create tables and functions.</param>
    /// <param name="ct">Cancels waiting for the lock and the migration in progress (which then rolls back).</param>
    public Task<MigrationReport> MigrateAsync(string connectionString, CancellationToken ct) =>
        MigrateAsync(connectionString, MigrationLocking.Session, ct);

    /// <summary>Applies the missing migrations to the database of <paramref name="connectionString"/>.</summary>
    /// <param name="connectionString">An Npgsql connection string whose user may create tables and functions.</param>
    /// <param name="locking">Session for a direct connection, Transaction through a transaction-mode pooler.</param>
    /// <param name="ct">Cancels waiting for the lock and the migration in progress (which then rolls back).</param>
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
            return await MigrateInOneTransactionAsync(dataSource, scripts, ct);
        }

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var waited = Stopwatch.StartNew();
        await ExecuteAsync(connection, null, SqlQueries.Get("MigrationLock"), ct);
        LogLockAcquired(waited.ElapsedMilliseconds);
        try
        {
            await ExecuteAsync(connection, null, SqlQueries.Get("MigrationCreateTable"), ct);
            var present = await ListAppliedAsync(connection, null, ct);

            var appliedNow = new List<SchemaMigration>();
            var alreadyApplied = new List<SchemaMigration>();
            foreach (var script in scripts)
            {
                if (present.Contains(script.Migration.Version))
                {
                    alreadyApplied.Add(script.Migration);
                    continue;
                }

                await ApplyAsync(connection, script, ct);
                appliedNow.Add(script.Migration);
            }

            if (appliedNow.Count == 0)
            {
                LogUpToDate(alreadyApplied.Count);
            }

            return new MigrationReport(appliedNow, alreadyApplied);
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

    private async Task<MigrationReport> MigrateInOneTransactionAsync(
        NpgsqlDataSource dataSource, IReadOnlyList<MigrationScript> scripts, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var waited = Stopwatch.StartNew();
        await ExecuteAsync(connection, transaction, SqlQueries.Get("MigrationLockTransaction"), ct);
        LogLockAcquired(waited.ElapsedMilliseconds);
        await ExecuteAsync(connection, transaction, SqlQueries.Get("MigrationCreateTable"), ct);
        var present = await ListAppliedAsync(connection, transaction, ct);
        var appliedNow = new List<SchemaMigration>();
        var alreadyApplied = new List<SchemaMigration>();
        foreach (var script in scripts)
        {
            if (present.Contains(script.Migration.Version))
            {
                alreadyApplied.Add(script.Migration);
                continue;
            }

            await ApplyAsync(connection, transaction, script, ct);
            appliedNow.Add(script.Migration);
        }

        await transaction.CommitAsync(ct);
        if (appliedNow.Count == 0)
        {
            LogUpToDate(alreadyApplied.Count);
        }

        return new MigrationReport(appliedNow, alreadyApplied);
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

        return new MigrationScript(new SchemaMigration(version, name), text);
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

    private async Task ApplyAsync(NpgsqlConnection connection, MigrationScript script, CancellationToken ct)
    {
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await ApplyAsync(connection, transaction, script, ct);
        await transaction.CommitAsync(ct);
    }

    /// <summary>Runs a migration and records it in <paramref name="transaction"/>, which the caller commits.</summary>
    private async Task ApplyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, MigrationScript script, CancellationToken ct)
    {
        LogApplying(script.Migration.Version, script.Migration.Name);
        var elapsed = Stopwatch.StartNew();
        try
        {
            await ExecuteAsync(connection, transaction, script.Text, ct);
            await using (var record = new NpgsqlCommand(SqlQueries.Get("MigrationRecord"), connection, transaction))
            {
                record.Parameters.AddWithValue("Version", script.Migration.Version);
                record.Parameters.AddWithValue("Name", script.Migration.Name);
                await record.ExecuteNonQueryAsync(ct);
            }
        }
        catch (Exception exception) when (exception is NpgsqlException or OperationCanceledException)
        {
            LogFailed(exception, script.Migration.Version, script.Migration.Name);
            throw;
        }

        LogApplied(script.Migration.Version, script.Migration.Name, elapsed.ElapsedMilliseconds);
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

/// <summary>A migration and the SQL text of its file.</summary>
internal sealed record MigrationScript(SchemaMigration Migration, string Text);
