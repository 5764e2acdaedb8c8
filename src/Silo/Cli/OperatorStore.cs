using GenerationWorker.Grains.Postgres;
using Npgsql;
using NpgsqlTypes;

namespace GenerationWorker.Silo.Cli;

/// <summary>One line of <c>cost</c>: a client's spend on a model during one UTC day, in exact micro-dollars.</summary>
public sealed record CostLine(
    string ClientId, string Model, DateOnly Day, long BilledMicros, long PossiblyBilledMicros, long BilledRequests, long PossiblyBilledRequests);

/// <summary>A job as <c>status</c> shows it.</summary>
public sealed record JobDetails(
    string Id,
    string ClientId,
    string Type,
    string Status,
    int Progress,
    int Attempts,
    int MaxAttempts,
    string? Error,
    string? ResultJson,
    string? LockedBy,
    int Priority,
    DateTimeOffset CreatedAt,
    DateTimeOffset ScheduledFor,
    DateTimeOffset? StartedAt,
    DateTimeOffset? CompletedAt,
    DateTimeOffset? LeaseExpiresAt,
    int StoredVariants,
    bool Waiting);

/// <summary>A row of <c>list</c>.</summary>
public sealed record JobListItem(
    string Id, string Type, string Status, int Progress, int Attempts, int MaxAttempts, DateTimeOffset CreatedAt, string? Error);

/// <summary>A row of <c>watch</c>.</summary>
/// <param name="Waiting">True for a pending job whose scheduled_for is still ahead (a retry backoff).</param>
public sealed record WatchedJob(
    string Id, string Type, string Status, int Progress, int Attempts, int MaxAttempts, string? Error, bool Waiting)
{
    /// <summary>True while a worker still has something to do with it.</summary>
    public bool IsActive => Status is "pending" or "processing";
}

/// <summary>The last minute of the table, by the database's clock.</summary>
/// <param name="Now">The database's now().</param>
/// <param name="Completed">Jobs completed in the last minute.</param>
/// <param name="Failed">Jobs failed for good in the last minute.</param>
/// <param name="ImagesStored">Images stored in the last minute (each one took a successful Gemini request).</param>
/// <param name="OldestClaimable">created_at of the oldest job claimable now, or null.</param>
public sealed record RecentActivity(DateTimeOffset Now, long Completed, long Failed, long ImagesStored, DateTimeOffset? OldestClaimable);

/// <summary>The quota grain's state row.</summary>
public sealed record StoredQuotaState(byte[] Payload, DateTimeOffset ModifiedOn);

/// <summary>What <c>retry &lt;id&gt;</c> did.</summary>
public abstract record RetryOutcome
{
    private RetryOutcome()
    {
    }

    /// <summary>Back to pending now, attempts reset.</summary>
    public sealed record Retried : RetryOutcome;

    /// <summary>No job has that id.</summary>
    public sealed record NotFound : RetryOutcome;

    /// <summary>The job is processing or completed: nothing to retry.</summary>
    public sealed record NotRetryable(string Status) : RetryOutcome;
}

/// <summary>What <c>cancel &lt;id&gt;</c> did.</summary>
public abstract record CancelOutcome
{
    private CancelOutcome()
    {
    }

    /// <summary>The job was pending or processing and is now cancelled.</summary>
    public sealed record Cancelled : CancelOutcome;

    /// <summary>No job has that id.</summary>
    public sealed record NotFound : CancelOutcome;

    /// <summary>The job had already ended (completed, failed or cancelled).</summary>
    public sealed record AlreadyEnded(string Status) : CancelOutcome;
}

/// <summary>The job table as the operator commands read and change it (queries <c>sql/queries/Cli*.sql</c>).</summary>
public sealed class OperatorStore(NpgsqlDataSource dataSource)
{
    /// <summary>Inserts a job as the web app does and returns its id.</summary>
    public async Task<string> EnqueueAsync(
        string clientId, string type, string payloadJson, int priority, int maxAttempts, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("CliEnqueue"));
        command.Parameters.AddWithValue("ClientId", clientId);
        command.Parameters.AddWithValue("Type", type);
        command.Parameters.AddWithValue("Payload", NpgsqlDbType.Text, payloadJson);
        command.Parameters.AddWithValue("Priority", priority);
        command.Parameters.AddWithValue("MaxAttempts", maxAttempts);
        return (string)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>One job, or null.</summary>
    public async Task<JobDetails?> GetAsync(string id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("CliJobStatus"));
        command.Parameters.AddWithValue("Id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new JobDetails(
            reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt32(4),
            reader.GetInt32(5), reader.GetInt32(6), NullableString(reader, 7), NullableString(reader, 8),
            NullableString(reader, 9), reader.GetInt32(10), reader.GetFieldValue<DateTimeOffset>(11),
            reader.GetFieldValue<DateTimeOffset>(12), NullableTime(reader, 13), NullableTime(reader, 14),
            NullableTime(reader, 15), reader.GetInt32(16), reader.GetBoolean(17));
    }

    /// <summary>The newest <paramref name="limit"/> jobs, optionally of one status.</summary>
    public async Task<IReadOnlyList<JobListItem>> ListAsync(string? status, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("CliJobList"));
        command.Parameters.Add(new NpgsqlParameter("Status", NpgsqlDbType.Text) { Value = (object?)status ?? DBNull.Value });
        command.Parameters.AddWithValue("Limit", limit);
        var jobs = new List<JobListItem>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            jobs.Add(new JobListItem(
                reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetInt32(4),
                reader.GetInt32(5), reader.GetFieldValue<DateTimeOffset>(6), NullableString(reader, 7)));
        }

        return jobs;
    }

    /// <summary>Puts one failed, cancelled or waiting job back to pending now with its attempts reset.</summary>
    public async Task<RetryOutcome> RetryAsync(string id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("CliRetryJob"));
        command.Parameters.AddWithValue("Id", id);
        if (await command.ExecuteScalarAsync(cancellationToken) is not null)
        {
            return new RetryOutcome.Retried();
        }

        return await GetAsync(id, cancellationToken) is { } job
            ? new RetryOutcome.NotRetryable(job.Status)
            : new RetryOutcome.NotFound();
    }

    /// <summary>Puts every failed job back to pending now with its attempts reset; returns their ids.</summary>
    public async Task<IReadOnlyList<string>> RetryFailedAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("CliRetryFailed"));
        var ids = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    /// <summary>Cancels a pending or processing job as the web app does.</summary>
    public async Task<CancelOutcome> CancelAsync(string id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("CliCancelJob"));
        command.Parameters.AddWithValue("Id", id);
        if (await command.ExecuteScalarAsync(cancellationToken) is not null)
        {
            return new CancelOutcome.Cancelled();
        }

        return await GetAsync(id, cancellationToken) is { } job
            ? new CancelOutcome.AlreadyEnded(job.Status)
            : new CancelOutcome.NotFound();
    }

    /// <summary>Jobs per status (statuses without jobs are absent).</summary>
    public async Task<IReadOnlyDictionary<string, long>> CountByStatusAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("CliStatusCounts"));
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            counts[reader.GetString(0)] = reader.GetInt64(1);
        }

        return counts;
    }

    /// <summary>What happened in the last minute.</summary>
    public async Task<RecentActivity> RecentActivityAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("CliRecentActivity"));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new RecentActivity(
            reader.GetFieldValue<DateTimeOffset>(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), NullableTime(reader, 4));
    }

    /// <summary>The Gemini spend by client, model and UTC day, newest day first; optionally one client, since a day.</summary>
    public async Task<IReadOnlyList<CostLine>> CostAsync(string? clientId, DateOnly? since, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("CliCost"));
        command.Parameters.Add(new NpgsqlParameter("ClientId", NpgsqlDbType.Text) { Value = (object?)clientId ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("Since", NpgsqlDbType.Date) { Value = (object?)since ?? DBNull.Value });
        var lines = new List<CostLine>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            lines.Add(new CostLine(
                reader.GetString(0), reader.GetString(1), reader.GetFieldValue<DateOnly>(2), reader.GetInt64(3), reader.GetInt64(4),
                reader.GetInt64(5), reader.GetInt64(6)));
        }

        return lines;
    }

    /// <summary>The quota grain's persisted state of service <paramref name="serviceId"/>, or null when none was saved.</summary>
    public async Task<StoredQuotaState?> QuotaStateAsync(string serviceId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("CliQuotaState"));
        command.Parameters.AddWithValue("ServiceId", serviceId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new StoredQuotaState(reader.GetFieldValue<byte[]>(0), reader.GetFieldValue<DateTimeOffset>(1));
    }

    /// <summary>The 20 clients with the most Gemini requests waiting in pending jobs: (client, jobs, requests).</summary>
    public async Task<IReadOnlyList<(string Client, long Jobs, long Requests)>> WaitingByClientAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("CliWaitingByClient"));
        var clients = new List<(string, long, long)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            clients.Add((reader.IsDBNull(0) ? "" : reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
        }

        return clients;
    }

    /// <summary>Pending and processing jobs, and those ended within <paramref name="recent"/>, oldest first.</summary>
    public async Task<IReadOnlyList<WatchedJob>> WatchAsync(TimeSpan recent, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("CliWatch"));
        command.Parameters.AddWithValue("RecentSeconds", recent.TotalSeconds);
        command.Parameters.AddWithValue("Limit", limit);
        var jobs = new List<WatchedJob>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            jobs.Add(new WatchedJob(
                reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetInt32(4),
                reader.GetInt32(5), NullableString(reader, 6), reader.GetBoolean(7)));
        }

        return jobs;
    }

    private static string? NullableString(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static DateTimeOffset? NullableTime(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<DateTimeOffset>(ordinal);
}
