using System.Text.Json;
using Npgsql;

namespace GenerationWorker.TestSupport;

/// <summary>A generation_job row as the web app would read it.</summary>
public sealed record JobSnapshot(
    string Id,
    string Status,
    int Progress,
    int Attempts,
    int MaxAttempts,
    string? Error,
    JsonElement? Result,
    string? LockedBy,
    DateTimeOffset ScheduledFor,
    DateTimeOffset? StartedAt,
    DateTimeOffset? CompletedAt)
{
    /// <summary>True for completed, failed and cancelled.</summary>
    public bool IsFinal => Status is "completed" or "failed" or "cancelled";

    /// <summary>result.imageUrls.</summary>
    public IReadOnlyList<string> ImageUrls => Strings("imageUrls");

    /// <summary>result.imageIds.</summary>
    public IReadOnlyList<string> ImageIds => Strings("imageIds");

    private IReadOnlyList<string> Strings(string name) =>
        Result is { ValueKind: JsonValueKind.Object } result && result.TryGetProperty(name, out var values)
            ? [.. values.EnumerateArray().Select(e => e.GetString()!)]
            : [];
}

/// <summary>One state change from generation_job_event.</summary>
public sealed record JobEvent(long Id, string JobId, string? From, string To, int Attempt, string? Worker, DateTimeOffset At);

/// <summary>Does what the web app does with the job table: insert, read, cancel; and waits for outcomes.</summary>
public sealed class JobTable(string connectionString)
{
    /// <summary>The database's connection string.</summary>
    public string ConnectionString { get; } = connectionString;

    /// <summary>Inserts a job as the app does and returns its id.</summary>
    public async Task<string> InsertAsync(
        string type, object payload, string? id = null, int priority = 100, TimeSpan? delay = null, int maxAttempts = 3,
        string clientId = "client-1", DateTimeOffset? scheduledFor = null, string? flowId = null)
    {
        id ??= "job_" + Guid.NewGuid().ToString("N");
        var json = payload as string ?? JsonSerializer.Serialize(payload);
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO generation_job (id, client_id, flow_id, type, payload, priority, max_attempts, scheduled_for)
            VALUES (@id, @client, @flow, @type, @payload::jsonb, @priority, @max,
                    coalesce(@at, now() + make_interval(secs => @delay)))
            """, connection);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("client", clientId);
        command.Parameters.Add(new NpgsqlParameter("flow", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)flowId ?? DBNull.Value });
        command.Parameters.AddWithValue("type", type);
        command.Parameters.AddWithValue("payload", json);
        command.Parameters.AddWithValue("priority", priority);
        command.Parameters.AddWithValue("max", maxAttempts);
        command.Parameters.AddWithValue("delay", (delay ?? TimeSpan.Zero).TotalSeconds);
        command.Parameters.Add(new NpgsqlParameter("at", NpgsqlTypes.NpgsqlDbType.TimestampTz) { Value = (object?)scheduledFor ?? DBNull.Value });
        await command.ExecuteNonQueryAsync();
        return id;
    }

    /// <summary>Reads one job.</summary>
    public async Task<JobSnapshot> GetAsync(string id) =>
        (await QueryAsync("WHERE id = @id", ("id", id))).Single();

    /// <summary>Reads every job.</summary>
    public Task<IReadOnlyList<JobSnapshot>> AllAsync() => QueryAsync("");

    /// <summary>Cancels a job as the app does.</summary>
    public Task CancelAsync(string id) => ExecuteAsync("UPDATE generation_job SET status = 'cancelled' WHERE id = @id", ("id", id));

    /// <summary>Runs a statement.</summary>
    public async Task<int> ExecuteAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return await command.ExecuteNonQueryAsync();
    }

    /// <summary>Runs a query returning one value.</summary>
    public async Task<T> ScalarAsync<T>(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>The audit trail of one job (or of all jobs), in order.</summary>
    public async Task<IReadOnlyList<JobEvent>> EventsAsync(string? jobId = null)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT id, job_id, from_status, to_status, attempt, worker, at FROM generation_job_event"
            + (jobId is null ? "" : " WHERE job_id = @id") + " ORDER BY id", connection);
        if (jobId is not null)
        {
            command.Parameters.AddWithValue("id", jobId);
        }

        var events = new List<JobEvent>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            events.Add(new JobEvent(reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.GetString(3), reader.GetInt32(4), reader.IsDBNull(5) ? null : reader.GetString(5), reader.GetFieldValue<DateTimeOffset>(6)));
        }

        return events;
    }

    /// <summary>Polls until the job satisfies <paramref name="condition"/>, failing after <paramref name="timeout"/> (default 30 s).</summary>
    public Task<JobSnapshot> WaitForAsync(string id, Func<JobSnapshot, bool> condition, TimeSpan? timeout = null) =>
        Eventually.ValueAsync(() => GetAsync(id), condition, timeout ?? TimeSpan.FromSeconds(30), $"job {id} reaches the expected state");

    /// <summary>Polls until the job is completed, failed or cancelled.</summary>
    public Task<JobSnapshot> WaitFinalAsync(string id, TimeSpan? timeout = null) => WaitForAsync(id, j => j.IsFinal, timeout);

    /// <summary>Polls until every job is final.</summary>
    public async Task<IReadOnlyList<JobSnapshot>> WaitAllFinalAsync(IEnumerable<string> ids, TimeSpan? timeout = null)
    {
        var results = new List<JobSnapshot>();
        foreach (var id in ids)
        {
            results.Add(await WaitFinalAsync(id, timeout));
        }

        return results;
    }

    private async Task<IReadOnlyList<JobSnapshot>> QueryAsync(string where, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT id, status, progress, attempts, max_attempts, error, result::text, locked_by, scheduled_for, started_at, completed_at FROM generation_job "
            + where + " ORDER BY created_at, id", connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        var jobs = new List<JobSnapshot>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            jobs.Add(new JobSnapshot(
                reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetInt32(3), reader.GetInt32(4),
                reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.IsDBNull(6) ? null : JsonDocument.Parse(reader.GetString(6)).RootElement.Clone(),
                reader.IsDBNull(7) ? null : reader.GetString(7),
                reader.GetFieldValue<DateTimeOffset>(8),
                reader.IsDBNull(9) ? null : reader.GetFieldValue<DateTimeOffset>(9),
                reader.IsDBNull(10) ? null : reader.GetFieldValue<DateTimeOffset>(10)));
        }

        return jobs;
    }
}
