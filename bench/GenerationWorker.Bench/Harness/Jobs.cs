using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace GenerationWorker.Bench.Harness;

/// <summary>A job to insert: its id and payload (as the web app writes them).</summary>
internal sealed record NewJob(string Id, string PayloadJson, string Type = "image_generation");

/// <summary>What the web app does with <c>generation_job</c>, plus the reads the figures measure with.</summary>
internal sealed class Jobs(string connectionString)
{
    /// <summary>A job id that sorts in insertion order.</summary>
    public static string NewId(string tag, int index) => $"job_{tag}_{index:D6}";

    /// <summary>An image_generation payload; <paramref name="imageModel"/> is its <c>modelOverrides.imageModel</c>.</summary>
    public static string Payload(string prompt, int variants = 1, string? imageQuality = null, string? imageModel = null)
    {
        var settings = new Dictionary<string, object> { ["numberOfVariants"] = variants };
        if (imageQuality is not null)
        {
            settings["imageQuality"] = imageQuality;
        }

        var payload = new Dictionary<string, object> { ["prompt"] = prompt, ["settings"] = settings };
        if (imageModel is not null)
        {
            payload["modelOverrides"] = new Dictionary<string, object> { ["imageModel"] = imageModel };
        }

        return JsonSerializer.Serialize(payload);
    }

    /// <summary>Inserts one job in its own transaction and returns the statement's <c>clock_timestamp()</c>.</summary>
    public static async Task<DateTimeOffset> InsertOneAsync(
        NpgsqlConnection connection, NewJob job, CancellationToken cancellationToken, int priority = 100)
    {
        await using var command = new NpgsqlCommand(
            "INSERT INTO generation_job (id, client_id, type, payload, priority) VALUES (@id, 'bench', @type, @payload::jsonb, @priority) RETURNING clock_timestamp()",
            connection);
        command.Parameters.AddWithValue("id", job.Id);
        command.Parameters.AddWithValue("priority", priority);
        command.Parameters.AddWithValue("type", job.Type);
        command.Parameters.AddWithValue("payload", job.PayloadJson);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return reader.GetFieldValue<DateTimeOffset>(0);
    }

    /// <summary>Inserts every job with one COPY in one transaction (one commit, one notification).</summary>
    public async Task CopyAsync(IEnumerable<NewJob> jobs, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var import = await connection.BeginBinaryImportAsync(
                         "COPY generation_job (id, client_id, type, payload) FROM STDIN (FORMAT BINARY)", cancellationToken))
        {
            foreach (var job in jobs)
            {
                await import.StartRowAsync(cancellationToken);
                await import.WriteAsync(job.Id, NpgsqlDbType.Text, cancellationToken);
                await import.WriteAsync("bench", NpgsqlDbType.Text, cancellationToken);
                await import.WriteAsync(job.Type, NpgsqlDbType.Text, cancellationToken);
                await import.WriteAsync(job.PayloadJson, NpgsqlDbType.Jsonb, cancellationToken);
            }

            await import.CompleteAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Opens a connection to the scenario's database.</summary>
    public async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    /// <summary>Runs a query returning one value.</summary>
    public async Task<T> ScalarAsync<T>(string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        var result = await command.ExecuteScalarAsync(cancellationToken);
        return result is DBNull or null ? default! : (T)result;
    }

    /// <summary>Runs a query and maps each row.</summary>
    public async Task<List<T>> QueryAsync<T>(
        string sql, Func<NpgsqlDataReader, T> map, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        var rows = new List<T>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(map(reader));
        }

        return rows;
    }

    /// <summary>Runs a statement.</summary>
    public async Task ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>How many jobs are completed, failed or cancelled.</summary>
    public Task<long> FinalCountAsync(CancellationToken cancellationToken) =>
        ScalarAsync<long>("SELECT count(*) FROM generation_job WHERE status IN ('completed', 'failed', 'cancelled')", cancellationToken);

    /// <summary>Polls until <paramref name="count"/> jobs are final or the deadline passes; returns how many are.</summary>
    public async Task<long> WaitFinalAsync(long count, TimeSpan timeout, CancellationToken cancellationToken)
    {
        // Polled through the partial indexes of pending and processing rows: counting a large table every 250 ms would
        // take Postgres time from the run being measured.
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            var busy = await ScalarAsync<bool>(
                "SELECT EXISTS (SELECT 1 FROM generation_job WHERE status = 'pending') OR EXISTS (SELECT 1 FROM generation_job WHERE status = 'processing')",
                cancellationToken);
            if (!busy || DateTimeOffset.UtcNow > deadline)
            {
                var final = await FinalCountAsync(cancellationToken);
                if (final >= count || DateTimeOffset.UtcNow > deadline)
                {
                    return final;
                }
            }

            await Task.Delay(250, cancellationToken);
        }
    }

    /// <summary>Job counts per status.</summary>
    public async Task<Dictionary<string, long>> StatusCountsAsync(CancellationToken cancellationToken) =>
        (await QueryAsync("SELECT status, count(*) FROM generation_job GROUP BY status", r => (r.GetString(0), r.GetInt64(1)), cancellationToken))
        .ToDictionary(p => p.Item1, p => p.Item2);
}
