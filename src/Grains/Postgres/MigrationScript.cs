using System.Text;
using System.Text.RegularExpressions;

namespace GenerationWorker.Grains.Postgres;

/// <summary>A migration and the SQL text of its file, with how it must be run.</summary>
/// <remarks>
/// A file whose first line is <c>-- migrate: no-transaction</c> runs outside a transaction, one statement at a time
/// (each its own implicit transaction): what <c>CREATE INDEX CONCURRENTLY</c> needs, since it cannot run in a transaction
/// block, nor in a multi-statement command. Such a file may be cut off after any statement (a lock timeout, a crash) and
/// run again from its start, so every statement must be idempotent (<c>IF NOT EXISTS</c>); it may not use dollar quotes
/// (a function body belongs in a transactional migration).
/// </remarks>
/// <param name="Migration">Its version and name.</param>
/// <param name="Text">The whole file.</param>
/// <param name="InTransaction">False when the file starts with the no-transaction marker.</param>
/// <param name="Statements">A no-transaction file's statements, comments left out, in order; empty otherwise.</param>
/// <param name="ConcurrentIndexes">
/// The names of the indexes a no-transaction file builds with <c>CREATE [UNIQUE] INDEX CONCURRENTLY IF NOT EXISTS</c>:
/// one left INVALID by a failed build is dropped before the file runs.
/// </param>
internal sealed record MigrationScript(
    SchemaMigration Migration,
    string Text,
    bool InTransaction,
    IReadOnlyList<string> Statements,
    IReadOnlyList<string> ConcurrentIndexes)
{
    /// <summary>The first line that makes a migration run outside a transaction.</summary>
    public const string NoTransactionMarker = "-- migrate: no-transaction";

    private static readonly Regex ConcurrentIndex = new(
        @"^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+IF\s+NOT\s+EXISTS\s+(?<name>[A-Za-z_][A-Za-z0-9_]*)\s",
        RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);

    /// <summary>Reads how <paramref name="text"/> must be run from its first line.</summary>
    /// <exception cref="FormatException">A no-transaction file uses dollar quotes or leaves a quote or comment open.</exception>
    public static MigrationScript Create(SchemaMigration migration, string text)
    {
        var firstLine = text.AsSpan().TrimStart('\uFEFF');
        var end = firstLine.IndexOfAny('\r', '\n');
        if (!firstLine[..(end < 0 ? firstLine.Length : end)].Trim().Equals(NoTransactionMarker, StringComparison.Ordinal))
        {
            return new MigrationScript(migration, text, InTransaction: true, [], []);
        }

        var statements = Split(migration, text);
        var indexes = statements.Select(statement => ConcurrentIndex.Match(statement + " "))
            .Where(match => match.Success)
            .Select(match => match.Groups["name"].Value.ToLowerInvariant())
            .ToList();
        return new MigrationScript(migration, text, InTransaction: false, statements, indexes);
    }

    /// <summary>Cuts a no-transaction file at its top-level semicolons, leaving comments out.</summary>
    private static List<string> Split(SchemaMigration migration, string text)
    {
        var statements = new List<string>();
        var current = new StringBuilder();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            var next = i + 1 < text.Length ? text[i + 1] : '\0';
            if (c == '-' && next == '-')
            {
                var lineEnd = text.IndexOf('\n', i);
                i = lineEnd < 0 ? text.Length : lineEnd;
            }
            else if (c == '/' && next == '*')
            {
                var close = text.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = close < 0 ? throw Invalid(migration, "an unclosed /* comment") : close + 2;
                current.Append(' ');
            }
            else if (c is '\'' or '"')
            {
                var close = text.IndexOf(c, i + 1);
                if (close < 0)
                {
                    throw Invalid(migration, "an unclosed quote");
                }

                // A doubled quote inside a literal reads as a close and a reopen: both halves are copied alike.
                current.Append(text, i, close - i + 1);
                i = close + 1;
            }
            else if (c == '$')
            {
                throw Invalid(migration, "a dollar quote (put function bodies in a transactional migration)");
            }
            else if (c == ';')
            {
                Add(statements, current);
                i++;
            }
            else
            {
                current.Append(c);
                i++;
            }
        }

        Add(statements, current);
        return statements;
    }

    private static void Add(List<string> statements, StringBuilder current)
    {
        var statement = current.ToString().Trim();
        if (statement.Length > 0)
        {
            statements.Add(statement);
        }

        current.Clear();
    }

    private static FormatException Invalid(SchemaMigration migration, string what) =>
        new($"Migration {migration.Name} runs outside a transaction ({NoTransactionMarker}) and has {what}.");
}
