using Npgsql;
using NpgsqlTypes;

namespace GenerationWorker.Grains.Postgres;

/// <summary>A claimed job, as the claim query returns it.</summary>
/// <param name="Id">The job id.</param>
/// <param name="LeaseToken">The claim's fencing token.</param>
/// <param name="Attempt">attempts after the claim.</param>
/// <param name="MaxAttempts">max_attempts of the row.</param>
/// <param name="Cost">Gemini requests the job still needs.</param>
/// <param name="Stored">Variants already generated and stored by earlier attempts.</param>
/// <param name="ClientId">The tenant (part of the storage path).</param>
/// <param name="Type">The job type as the app wrote it.</param>
/// <param name="PayloadJson">The payload's JSON text.</param>
/// <param name="FlowId">The row's flow_id, or null.</param>
/// <param name="Model">The model an earlier claim routed the job to, or null.</param>
public sealed record ClaimedJob(
    string Id, Guid LeaseToken, int Attempt, int MaxAttempts, int Cost, int Stored, string ClientId, string Type, string PayloadJson,
    string? FlowId, string? Model);

/// <summary>A claimable job as the dispatcher sees it before choosing what to claim.</summary>
/// <param name="Id">The job id.</param>
/// <param name="ClientId">The client ("" when NULL).</param>
/// <param name="Priority">Lower goes first.</param>
/// <param name="Type">The job type, or null.</param>
/// <param name="Model">The model an earlier claim routed the job to, or null.</param>
/// <param name="Quality"><c>settings.imageQuality</c>, or null.</param>
/// <param name="ImageModel"><c>modelOverrides.imageModel</c>, or null.</param>
/// <param name="VideoModel">A video's <c>settings.model</c>, or null.</param>
/// <param name="Cost">Gemini requests the job still needs.</param>
public sealed record CandidateJob(
    string Id, string ClientId, int Priority, string? Type, string? Model, string? Quality, string? ImageModel, string? VideoModel, int Cost);

/// <summary>A variant already generated and stored.</summary>
/// <param name="Variant">The variant index, from 0.</param>
/// <param name="ObjectKey">The storage key.</param>
/// <param name="Url">The public URL.</param>
/// <param name="ImageId">The variant's asset id (stable across attempts; the id in its key).</param>
/// <param name="OriginalKey">The storage key of the PNG original, or null when there is none (an edit preview).</param>
/// <param name="OriginalUrl">The public URL of the PNG original, or null.</param>
public sealed record StoredOutput(
    int Variant, string ObjectKey, string Url, string ImageId, string? OriginalKey = null, string? OriginalUrl = null);

/// <summary>A stored variant not yet recorded in the table, with what its row needs besides.</summary>
/// <param name="Output">The variant.</param>
/// <param name="ContentType">Its MIME type.</param>
/// <param name="SizeBytes">Its size.</param>
public sealed record UnrecordedOutput(StoredOutput Output, string ContentType, int SizeBytes);

/// <summary>A claim to complete.</summary>
/// <param name="Id">The job id.</param>
/// <param name="LeaseToken">The claim's fencing token.</param>
/// <param name="ResultJson">The result JSON.</param>
/// <param name="Last">The variant stored last, recorded with the completion, or null.</param>
/// <param name="Assets">The app's asset rows to write in the completion's transaction, or null.</param>
public sealed record JobCompletion(string Id, Guid LeaseToken, string ResultJson, UnrecordedOutput? Last, AssetWrite? Assets = null);

/// <summary>A job put back or failed by a rescue.</summary>
/// <param name="Id">The job id.</param>
/// <param name="Status">Its new status: pending, or failed when its attempts were spent.</param>
public sealed record RescuedJob(string Id, string Status);

/// <summary>
/// The <c>generation_job</c> table: the source of truth for every job. Every write made for a claim is conditioned on
/// the claim's lease token, so a claim that was lost (rescued, cancelled) can change nothing.
/// </summary>
public sealed class JobStore(NpgsqlDataSource dataSource)
{
    /// <summary>
    /// The first <paramref name="limit"/> claimable jobs in claim order, and the first <paramref name="perClient"/> of
    /// each of up to <paramref name="clients"/> clients after <paramref name="after"/>, in claim order, leaving out
    /// <paramref name="skip"/>.
    /// </summary>
    public async Task<IReadOnlyList<CandidateJob>> PeekCandidatesAsync(
        int limit, int perClient, int clients, string after, IReadOnlyCollection<string> skip, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("JobPeekCandidates"));
        command.Parameters.AddWithValue("Skip", skip.ToArray());
        command.Parameters.AddWithValue("Limit", limit);
        command.Parameters.AddWithValue("PerClient", perClient);
        command.Parameters.AddWithValue("Clients", clients);
        command.Parameters.AddWithValue("After", after);
        var candidates = new List<CandidateJob>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            string? Text(int column) => reader.IsDBNull(column) ? null : reader.GetString(column);
            candidates.Add(new CandidateJob(
                reader.GetString(0), Text(1) ?? "", reader.IsDBNull(2) ? 0 : reader.GetInt32(2), Text(4), Text(5), Text(6), Text(7),
                Text(8), reader.GetInt32(9)));
        }

        return candidates;
    }

    /// <summary>Fails those of the pending jobs <paramref name="ids"/> no claim holds, with <paramref name="error"/>; returns how many.</summary>
    public async Task<int> FailPendingAsync(IReadOnlyList<string> ids, string error, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("JobFailCapped"));
        command.Parameters.AddWithValue("Ids", ids.ToArray());
        command.Parameters.AddWithValue("Error", error);
        var failed = 0;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            failed++;
        }

        return failed;
    }

    /// <summary>Claims those of <paramref name="ids"/> still claimable (another silo may have taken some).</summary>
    public async Task<IReadOnlyList<ClaimedJob>> ClaimIdsAsync(
        string owner, IReadOnlyList<string> ids, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("JobClaimIds"));
        command.Parameters.AddWithValue("Owner", owner);
        command.Parameters.AddWithValue("Ids", ids.ToArray());
        command.Parameters.AddWithValue("LeaseSeconds", lease.TotalSeconds);
        return await ReadClaimedAsync(command, ids.Count, cancellationToken);
    }

    /// <summary>Claims up to <paramref name="limit"/> jobs whose requests fit in <paramref name="budget"/>.</summary>
    public async Task<IReadOnlyList<ClaimedJob>> ClaimAsync(
        string owner, int limit, int budget, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("JobClaim"));
        command.Parameters.AddWithValue("Owner", owner);
        command.Parameters.AddWithValue("Limit", limit);
        command.Parameters.AddWithValue("Budget", (long)budget);
        command.Parameters.AddWithValue("LeaseSeconds", lease.TotalSeconds);
        return await ReadClaimedAsync(command, limit, cancellationToken);
    }

    private static async Task<IReadOnlyList<ClaimedJob>> ReadClaimedAsync(NpgsqlCommand command, int expected, CancellationToken cancellationToken)
    {
        var claimed = new List<ClaimedJob>(expected);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            // The app may have created the table with nullable columns: a row with NULL where a job needs a value is
            // still claimed (the whole batch is), and fails for good with a type saying so instead of stranding the batch.
            string? Text(int column) => reader.IsDBNull(column) ? null : reader.GetString(column);
            var (clientId, type, payload) = (Text(6), Text(7), Text(8));
            string[] nulls = [.. new[] { ("client_id", clientId), ("type", type), ("payload", payload) }
                .Where(column => column.Item2 is null).Select(column => column.Item1)];
            claimed.Add(new ClaimedJob(
                reader.GetString(0), reader.GetGuid(1), reader.GetInt32(2), reader.GetInt32(3), reader.GetInt32(4),
                reader.GetInt32(5), clientId ?? "", nulls.Length > 0 ? NullColumnsType + string.Join(", ", nulls) : type!,
                payload ?? "null", Text(9), Text(10)));
        }

        return claimed;
    }

    /// <summary>
    /// The type given to a claimed row that has NULL in <c>client_id</c>, <c>type</c> or <c>payload</c>, followed by
    /// those columns' names: no handler runs it, so the job fails at once, saying which columns are NULL.
    /// </summary>
    public const string NullColumnsType = "(NULL) ";

    /// <summary>
    /// How long until the earliest pending job becomes claimable (zero or less: it already is), or null when nothing is
    /// pending. A delay by the database's clock, which the silos' clocks need not match.
    /// </summary>
    public Task<TimeSpan?> NextScheduledAsync(CancellationToken cancellationToken) => DueInAsync("JobNextScheduled", cancellationToken);

    /// <summary>How long until the earliest pending job that is not yet due becomes claimable, or null.</summary>
    public Task<TimeSpan?> NextFutureAsync(CancellationToken cancellationToken) => DueInAsync("JobNextFuture", cancellationToken);

    private async Task<TimeSpan?> DueInAsync(string query, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get(query));
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is double seconds ? TimeSpan.FromSeconds(seconds) : null;
    }

    /// <summary>The variants of a job already stored.</summary>
    public async Task<IReadOnlyList<StoredOutput>> OutputsAsync(string id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("JobOutputs"));
        command.Parameters.AddWithValue("Id", id);
        var outputs = new List<StoredOutput>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            outputs.Add(new StoredOutput(
                reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetString(5)));
        }

        return outputs;
    }

    /// <summary>Records a stored variant and the progress; false when the lease is lost.</summary>
    public async Task<bool> AddOutputAsync(
        string id, Guid leaseToken, StoredOutput output, string contentType, int sizeBytes, int progress,
        CancellationToken cancellationToken)
    {
        await using var command = Fenced("JobOutputAdd", id, leaseToken);
        command.Parameters.AddWithValue("Variant", output.Variant);
        command.Parameters.AddWithValue("ObjectKey", output.ObjectKey);
        command.Parameters.AddWithValue("Url", output.Url);
        command.Parameters.AddWithValue("ImageId", output.ImageId);
        command.Parameters.AddWithValue("ContentType", contentType);
        command.Parameters.AddWithValue("SizeBytes", sizeBytes);
        command.Parameters.Add(Text("OriginalKey", output.OriginalKey));
        command.Parameters.Add(Text("OriginalUrl", output.OriginalUrl));
        command.Parameters.AddWithValue("Progress", progress);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    /// <summary>Records the model a claim's job is routed to and its starting progress; false when the lease is lost.</summary>
    public async Task<bool> StartedAsync(string id, Guid leaseToken, string model, int progress, CancellationToken cancellationToken)
    {
        await using var command = Fenced("JobStarted", id, leaseToken);
        command.Parameters.AddWithValue("Model", model);
        command.Parameters.AddWithValue("Progress", progress);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    /// <summary>Records that a claim called its fallback model; false when the lease is lost.</summary>
    public async Task<bool> FallbackCalledAsync(string id, Guid leaseToken, string model, CancellationToken cancellationToken)
    {
        await using var command = Fenced("JobFallbackCalled", id, leaseToken);
        command.Parameters.AddWithValue("Model", model);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    /// <summary>Raises a claim's progress; false when the lease is lost.</summary>
    public async Task<bool> ProgressAsync(string id, Guid leaseToken, int progress, CancellationToken cancellationToken)
    {
        await using var command = Fenced("JobProgress", id, leaseToken);
        command.Parameters.AddWithValue("Progress", progress);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    /// <summary>Extends a claim's lease; false when the lease is lost.</summary>
    public async Task<bool> RenewLeaseAsync(string id, Guid leaseToken, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var command = Fenced("JobRenewLease", id, leaseToken);
        command.Parameters.AddWithValue("LeaseSeconds", lease.TotalSeconds);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    /// <summary>
    /// Completes a claim with its result JSON, recording <paramref name="last"/> (the variant stored last) in the same
    /// statement; false when the lease is lost, and then nothing is recorded.
    /// </summary>
    public async Task<bool> CompleteAsync(
        string id, Guid leaseToken, string resultJson, UnrecordedOutput? last, CancellationToken cancellationToken) =>
        (await CompleteManyAsync([new JobCompletion(id, leaseToken, resultJson, last)], cancellationToken)).Count == 1;

    /// <summary>
    /// Completes claims in one statement, each with its result and, when it has one, the variant it stored last.
    /// </summary>
    /// <returns>The claims completed, as (id, lease token); the others had lost their lease.</returns>
    public async Task<IReadOnlySet<(string Id, Guid LeaseToken)>> CompleteManyAsync(
        IReadOnlyList<JobCompletion> completions, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await CompleteManyAsync(connection, completions, cancellationToken);
    }

    /// <summary>
    /// <see cref="CompleteManyAsync(IReadOnlyList{JobCompletion}, CancellationToken)"/> on <paramref name="connection"/>, in
    /// the transaction it is in, if any.
    /// </summary>
    internal static async Task<IReadOnlySet<(string Id, Guid LeaseToken)>> CompleteManyAsync(
        NpgsqlConnection connection, IReadOnlyList<JobCompletion> completions, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(SqlQueries.Get("JobCompleteMany"), connection);
        command.Parameters.AddWithValue("Ids", completions.Select(c => c.Id).ToArray());
        command.Parameters.AddWithValue("LeaseTokens", completions.Select(c => c.LeaseToken).ToArray());
        command.Parameters.AddWithValue("Results", completions.Select(c => c.ResultJson).ToArray());
        command.Parameters.AddWithValue("Variants", completions.Select(c => c.Last?.Output.Variant).ToArray());
        command.Parameters.AddWithValue("ObjectKeys", completions.Select(c => c.Last?.Output.ObjectKey).ToArray());
        command.Parameters.AddWithValue("Urls", completions.Select(c => c.Last?.Output.Url).ToArray());
        command.Parameters.AddWithValue("ImageIds", completions.Select(c => c.Last?.Output.ImageId).ToArray());
        command.Parameters.AddWithValue("ContentTypes", completions.Select(c => c.Last?.ContentType).ToArray());
        command.Parameters.AddWithValue("SizeBytes", completions.Select(c => c.Last?.SizeBytes).ToArray());
        command.Parameters.AddWithValue("OriginalKeys", completions.Select(c => c.Last?.Output.OriginalKey).ToArray());
        command.Parameters.AddWithValue("OriginalUrls", completions.Select(c => c.Last?.Output.OriginalUrl).ToArray());
        var completed = new HashSet<(string, Guid)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            completed.Add((reader.GetString(0), reader.GetGuid(1)));
        }

        return completed;
    }

    /// <summary>Fails a claim for good; false when the lease is lost.</summary>
    public async Task<bool> FailAsync(string id, Guid leaseToken, string error, CancellationToken cancellationToken)
    {
        await using var command = Fenced("JobFail", id, leaseToken);
        command.Parameters.AddWithValue("Error", error);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    /// <summary>
    /// A retryable failure: pending again after <paramref name="delay"/>, or failed when the attempts are spent.
    /// </summary>
    /// <returns>The new status (pending or failed), or null when the lease is lost.</returns>
    public async Task<string?> RetryAsync(string id, Guid leaseToken, string error, TimeSpan delay, CancellationToken cancellationToken)
    {
        await using var command = Fenced("JobRetry", id, leaseToken);
        command.Parameters.AddWithValue("Error", error);
        command.Parameters.AddWithValue("DelaySeconds", delay.TotalSeconds);
        return await ReadStatusAsync(command, cancellationToken);
    }

    /// <summary>Gives a claim back without spending its attempt; false when the lease is lost.</summary>
    public async Task<bool> ReleaseAsync(string id, Guid leaseToken, string? error, TimeSpan delay, CancellationToken cancellationToken)
    {
        await using var command = Fenced("JobRelease", id, leaseToken);
        command.Parameters.Add(new NpgsqlParameter("Error", NpgsqlDbType.Text) { Value = (object?)error ?? DBNull.Value });
        command.Parameters.AddWithValue("DelaySeconds", delay.TotalSeconds);
        return await ReadStatusAsync(command, cancellationToken) is not null;
    }

    /// <summary>
    /// Puts a claim back to wait for <paramref name="delay"/> at <paramref name="progress"/>, without an error and without
    /// spending or refunding an attempt; false when the lease is lost.
    /// </summary>
    public async Task<bool> SnoozeAsync(string id, Guid leaseToken, TimeSpan delay, int progress, CancellationToken cancellationToken)
    {
        await using var command = Fenced("JobSnooze", id, leaseToken);
        command.Parameters.AddWithValue("DelaySeconds", delay.TotalSeconds);
        command.Parameters.AddWithValue("Progress", progress);
        return await ReadStatusAsync(command, cancellationToken) is not null;
    }

    /// <summary>Puts back every claim whose lease expired.</summary>
    public async Task<IReadOnlyList<RescuedJob>> RescueExpiredAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("JobRescueExpired"));
        return await ReadRescuedAsync(command, cancellationToken);
    }

    /// <summary>
    /// Fails up to <paramref name="limit"/> pending jobs never claimed and created more than
    /// <paramref name="minutes"/> minutes ago (by the database's clock), with <paramref name="error"/>.
    /// </summary>
    /// <returns>The ids of the jobs failed.</returns>
    public async Task<IReadOnlyList<string>> ExpirePendingAsync(int minutes, int limit, string error, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("JobExpirePending"));
        command.Parameters.AddWithValue("Minutes", minutes);
        command.Parameters.AddWithValue("Limit", limit);
        command.Parameters.AddWithValue("Error", error);
        var expired = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            expired.Add(reader.GetString(0));
        }

        return expired;
    }

    /// <summary>
    /// Puts back every claim held by the given (dead) owners; with <paramref name="drained"/> (they shut down
    /// gracefully) without spending the claims' attempts.
    /// </summary>
    public async Task<IReadOnlyList<RescuedJob>> RescueOwnersAsync(
        IReadOnlyCollection<string> owners, CancellationToken cancellationToken, bool drained = false)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("JobRescueOwners"));
        command.Parameters.AddWithValue("Owners", owners.ToArray());
        command.Parameters.AddWithValue("Drained", drained);
        return await ReadRescuedAsync(command, cancellationToken);
    }

    /// <summary>Deletes at most <paramref name="limit"/> audit rows older than <paramref name="days"/> days; returns how many.</summary>
    public async Task<int> PruneAuditAsync(int days, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("AuditPrune"));
        command.Parameters.AddWithValue("Days", days);
        command.Parameters.AddWithValue("Limit", limit);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Which of <paramref name="ids"/> are still processing under <paramref name="owner"/>.</summary>
    public async Task<IReadOnlySet<string>> StillHeldAsync(IReadOnlyCollection<string> ids, string owner, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("JobStillHeld"));
        command.Parameters.AddWithValue("Ids", ids.ToArray());
        command.Parameters.AddWithValue("Owner", owner);
        var held = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            held.Add(reader.GetString(0));
        }

        return held;
    }

    /// <summary>Throws unless the database answers.</summary>
    public async Task PingAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("DatabasePing"));
        await command.ExecuteScalarAsync(cancellationToken);
    }

    private static NpgsqlParameter Text(string name, string? value) =>
        new(name, NpgsqlDbType.Text) { Value = (object?)value ?? DBNull.Value };

    private NpgsqlCommand Fenced(string query, string id, Guid leaseToken)
    {
        var command = dataSource.CreateCommand(SqlQueries.Get(query));
        command.Parameters.AddWithValue("Id", id);
        command.Parameters.AddWithValue("LeaseToken", leaseToken);
        return command;
    }

    private static async Task<string?> ReadStatusAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? reader.GetString(1) : null;
    }

    private static async Task<IReadOnlyList<RescuedJob>> ReadRescuedAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var rescued = new List<RescuedJob>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rescued.Add(new RescuedJob(reader.GetString(0), reader.GetString(1)));
        }

        return rescued;
    }
}
