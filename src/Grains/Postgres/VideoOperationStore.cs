using Npgsql;

namespace GenerationWorker.Grains.Postgres;

/// <summary>A video job's Veo operation, as its row records it.</summary>
/// <param name="OperationName">The operation's name, or null before the start's answer was recorded.</param>
/// <param name="StartSent">True once a start request was (about to be) sent.</param>
/// <param name="Age">How long ago the start was sent, by the database's clock (zero before).</param>
/// <param name="Progress">The job's progress.</param>
public sealed record VideoOperationState(string? OperationName, bool StartSent, TimeSpan Age, int Progress);

/// <summary>
/// The Veo operation columns of <c>generation_job</c> (<c>operation_name</c>, <c>operation_started_at</c>). Every
/// statement is fenced by the claim's lease token; a null or false answer means the lease is lost.
/// </summary>
public sealed class VideoOperationStore(NpgsqlDataSource dataSource)
{
    /// <summary>The job's operation, or null when the lease is lost.</summary>
    public async Task<VideoOperationState?> StateAsync(string id, Guid leaseToken, CancellationToken cancellationToken)
    {
        await using var command = Fenced("JobVideoState", id, leaseToken);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new VideoOperationState(
            reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetBoolean(1), TimeSpan.FromSeconds(reader.GetDouble(2)),
            reader.GetInt32(3));
    }

    /// <summary>
    /// Records that a start is about to be sent. False: the lease is lost, or a start was already sent.
    /// </summary>
    public Task<bool> StartingAsync(string id, Guid leaseToken, CancellationToken cancellationToken) =>
        ExecuteAsync(Fenced("JobVideoStarting", id, leaseToken), cancellationToken);

    /// <summary>Records the started operation's name and <paramref name="progress"/>; false when the lease is lost.</summary>
    public Task<bool> StartedAsync(string id, Guid leaseToken, string operationName, int progress, CancellationToken cancellationToken)
    {
        var command = Fenced("JobVideoStarted", id, leaseToken);
        command.Parameters.AddWithValue("OperationName", operationName);
        command.Parameters.AddWithValue("Progress", progress);
        return ExecuteAsync(command, cancellationToken);
    }

    /// <summary>
    /// Forgets the operation (none was created, or it ended with an error), so the next attempt may start another;
    /// false when the lease is lost.
    /// </summary>
    public Task<bool> ForgetAsync(string id, Guid leaseToken, CancellationToken cancellationToken) =>
        ExecuteAsync(Fenced("JobVideoForget", id, leaseToken), cancellationToken);

    private static async Task<bool> ExecuteAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using (command)
        {
            return await command.ExecuteScalarAsync(cancellationToken) is not null;
        }
    }

    private NpgsqlCommand Fenced(string query, string id, Guid leaseToken)
    {
        var command = dataSource.CreateCommand(SqlQueries.Get(query));
        command.Parameters.AddWithValue("Id", id);
        command.Parameters.AddWithValue("LeaseToken", leaseToken);
        return command;
    }
}
