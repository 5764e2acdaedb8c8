using GenerationWorker.Grains.Postgres;
using Npgsql;

namespace GenerationWorker.Silo.Operators;

/// <summary>The operator page's totals, by the database's clock.</summary>
/// <param name="Now">The database's now() when they were read.</param>
/// <param name="Pending">Jobs pending, due now or later.</param>
/// <param name="PendingLater">Pending jobs whose scheduled_for is still ahead (a retry backoff, a delayed job).</param>
/// <param name="Processing">Jobs claimed and running.</param>
/// <param name="FailedLastHour">Jobs failed for good in the last hour.</param>
/// <param name="CompletedLastMinute">Jobs completed in the last 60 seconds.</param>
public sealed record JobCounts(
    DateTimeOffset Now, long Pending, long PendingLater, long Processing, long FailedLastHour, long CompletedLastMinute)
{
    /// <summary>Pending jobs a dispatcher may claim now (their scheduled_for has come).</summary>
    public long PendingDue => Pending - PendingLater;
}

/// <summary>Pending and processing jobs sharing one value of a column (a priority, a client, a model).</summary>
/// <param name="Key">The value as text; null for a model no claim has routed to yet.</param>
/// <param name="Pending">Its pending jobs.</param>
/// <param name="Processing">Its processing jobs.</param>
public sealed record JobGroup(string? Key, long Pending, long Processing);

/// <summary>A job failed in the last hour.</summary>
public sealed record FailedJob(string Id, string ClientId, string Type, string? Model, int Attempts, DateTimeOffset FailedAt, string? Error);

/// <summary>What the operator page reads from <c>generation_job</c>.</summary>
/// <param name="Counts">The totals.</param>
/// <param name="ByPriority">The 20 largest groups by priority.</param>
/// <param name="ByClient">The 20 largest groups by client.</param>
/// <param name="ByModel">The 20 largest groups by model.</param>
/// <param name="RecentFailures">The 20 latest failures of the last hour, latest first.</param>
public sealed record JobsOverview(
    JobCounts Counts, IReadOnlyList<JobGroup> ByPriority, IReadOnlyList<JobGroup> ByClient, IReadOnlyList<JobGroup> ByModel,
    IReadOnlyList<FailedJob> RecentFailures);

/// <summary>Pending jobs of one model (dimension <c>model</c>, key null: never routed) or one client (dimension <c>client</c>).</summary>
/// <param name="Dimension"><c>model</c> or <c>client</c>.</param>
/// <param name="Key">The model or the client.</param>
/// <param name="Jobs">Pending jobs.</param>
/// <param name="Requests">The Gemini requests they ask for.</param>
public sealed record BacklogGroup(string Dimension, string? Key, long Jobs, long Requests);

/// <summary>
/// The read-only aggregate reads of <c>generation_job</c> for operators (the jobs page, the backlog gauge). Each reads the
/// partial indexes of pending and processing rows or a range of recent finished rows, never the whole table.
/// </summary>
public sealed class JobsOverviewStore(NpgsqlDataSource dataSource)
{
    /// <summary>The page's three queries in one round trip.</summary>
    public async Task<JobsOverview> ReadAsync(CancellationToken cancellationToken)
    {
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand(SqlQueries.Get("JobsPageCounts")));
        batch.BatchCommands.Add(new NpgsqlBatchCommand(SqlQueries.Get("JobsPageGroups")));
        batch.BatchCommands.Add(new NpgsqlBatchCommand(SqlQueries.Get("JobsPageFailures")));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);

        await reader.ReadAsync(cancellationToken);
        var counts = new JobCounts(
            reader.GetFieldValue<DateTimeOffset>(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3),
            reader.GetInt64(4), reader.GetInt64(5));

        await reader.NextResultAsync(cancellationToken);
        var groups = new Dictionary<string, List<JobGroup>>(StringComparer.Ordinal) { ["priority"] = [], ["client"] = [], ["model"] = [] };
        while (await reader.ReadAsync(cancellationToken))
        {
            groups[reader.GetString(0)].Add(new JobGroup(
                reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3)));
        }

        await reader.NextResultAsync(cancellationToken);
        var failures = new List<FailedJob>();
        while (await reader.ReadAsync(cancellationToken))
        {
            failures.Add(new FailedJob(
                reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.GetInt32(4), reader.GetFieldValue<DateTimeOffset>(5), reader.IsDBNull(6) ? null : reader.GetString(6)));
        }

        return new JobsOverview(counts, groups["priority"], groups["client"], groups["model"], failures);
    }

    /// <summary>Pending jobs and their Gemini requests by model (one query).</summary>
    public async Task<IReadOnlyList<BacklogGroup>> ReadBacklogAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("JobBacklogByModel"));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var backlog = new List<BacklogGroup>();
        while (await reader.ReadAsync(cancellationToken))
        {
            backlog.Add(new BacklogGroup(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3)));
        }

        return backlog;
    }
}
