using GenerationWorker.Grains.Assets;
using GenerationWorker.Grains.Postgres;
using Npgsql;
using NpgsqlTypes;

namespace GenerationWorker.Grains.Cost;

/// <summary>How a Gemini request is billed, as the ledger records it (its <c>state</c> column).</summary>
public enum Billing
{
    /// <summary>An HTTP 200 answer (or a Veo operation that made a video): billed.</summary>
    Billed,

    /// <summary>An error answer (4xx, 5xx, 429), or a Veo operation that failed: not billed.</summary>
    NotBilled,

    /// <summary>No answer came (a timeout, a cut connection, a dead process): recorded at the full expected price.</summary>
    PossiblyBilled,

    /// <summary>A Veo start that created an operation: billed or not once the operation ends.</summary>
    AwaitingVideo,
}

/// <summary>A Gemini request about to be sent: the ledger's intent row.</summary>
/// <param name="RequestId">The request's id (the ledger's key, and the id of its cost record).</param>
/// <param name="JobId">The job.</param>
/// <param name="ClientId">The job's client.</param>
/// <param name="Attempt">The job's attempt.</param>
/// <param name="Call">Which call of the attempt: <c>variant 2</c>, <c>video start</c>.</param>
/// <param name="OperationType">The app's operation type: image_generation, image_edit, video_generation.</param>
/// <param name="Model">The model called.</param>
/// <param name="Owner">The silo sending it (its identity in <c>locked_by</c>).</param>
/// <param name="ExpectedMicros">Its full price if billed, in micro-dollars.</param>
public sealed record CostIntent(
    Guid RequestId, string JobId, string ClientId, int Attempt, string Call, string OperationType, string Model, string Owner,
    long ExpectedMicros);

/// <summary>What the answer of a request says about its cost.</summary>
/// <param name="Billing">Billed or not.</param>
/// <param name="CostMicros">The amount billed (0 when not billed), or null while awaiting a video.</param>
/// <param name="Usage">The answer's token counts, or null.</param>
/// <param name="ImageCount">The images billed, or null.</param>
/// <param name="HttpStatus">The answer's HTTP status, or null when none came.</param>
/// <param name="Error">What went wrong (no secrets, no URLs), or null.</param>
/// <param name="Duration">From the intent to the answer.</param>
/// <param name="OperationName">A Veo start's operation, or null.</param>
public sealed record CostAnswer(
    Billing Billing, long? CostMicros, Gemini.GeminiUsage? Usage, int? ImageCount, int? HttpStatus, string? Error, TimeSpan Duration,
    string? OperationName = null);

/// <summary>A request the ledger settled.</summary>
/// <param name="RequestId">The request.</param>
/// <param name="JobId">Its job.</param>
/// <param name="ClientId">The job's client.</param>
/// <param name="Model">The model called.</param>
/// <param name="Billing">How it was settled.</param>
/// <param name="CostMicros">The amount recorded.</param>
public sealed record SettledCost(Guid RequestId, string JobId, string ClientId, string Model, Billing Billing, long CostMicros);

/// <summary>Today's (UTC) spend.</summary>
/// <param name="BilledMicros">Billed requests' total.</param>
/// <param name="PossiblyBilledMicros">Requests without an answer, at their full price.</param>
/// <param name="BilledRequests">Billed requests.</param>
/// <param name="PossiblyBilledRequests">Possibly billed requests.</param>
/// <param name="PendingMicros">The expected price of requests still awaiting their answer (or their video).</param>
public sealed record DailySpend(long BilledMicros, long PossiblyBilledMicros, long BilledRequests, long PossiblyBilledRequests, long PendingMicros);

/// <summary>
/// The cost ledger's statements (<c>gemini_cost_ledger</c>) and the copy of settled requests into the app's
/// <c>ai_cost_tracking</c> (or <c>worker_cost_tracking</c>). Nothing here is fenced by a job's lease.
/// </summary>
public sealed class CostStore(NpgsqlDataSource dataSource, AppTables appTables)
{
    /// <summary>Records a request about to be sent.</summary>
    public async Task OpenAsync(CostIntent intent, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("CostIntent"));
        command.Parameters.AddWithValue("RequestId", intent.RequestId);
        command.Parameters.AddWithValue("JobId", intent.JobId);
        command.Parameters.AddWithValue("ClientId", intent.ClientId);
        command.Parameters.AddWithValue("Attempt", intent.Attempt);
        command.Parameters.AddWithValue("Call", intent.Call);
        command.Parameters.AddWithValue("OperationType", intent.OperationType);
        command.Parameters.AddWithValue("Model", intent.Model);
        command.Parameters.AddWithValue("Owner", intent.Owner);
        command.Parameters.AddWithValue("ExpectedMicros", intent.ExpectedMicros);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Records the answer of an open request; empty when it was settled already (by a rescue).</summary>
    public async Task<IReadOnlyList<SettledCost>> FinalizeAsync(Guid requestId, CostAnswer answer, CancellationToken cancellationToken)
    {
        var command = new NpgsqlBatchCommand(SqlQueries.Get("CostFinalize"));
        command.Parameters.AddWithValue("RequestId", requestId);
        command.Parameters.Add(Text("State", StateOf(answer.Billing)));
        command.Parameters.Add(Bigint("CostMicros", answer.CostMicros));
        command.Parameters.Add(Int("InputTokens", answer.Usage?.PromptTokens));
        command.Parameters.Add(Int("OutputTokens", answer.Usage?.CandidatesTokens));
        command.Parameters.Add(Int("ImageCount", answer.ImageCount));
        command.Parameters.Add(Int("HttpStatus", answer.HttpStatus));
        command.Parameters.Add(Text("Error", answer.Error));
        command.Parameters.AddWithValue("DurationMs", (int)Math.Min(int.MaxValue, answer.Duration.TotalMilliseconds));
        command.Parameters.Add(Text("OperationName", answer.OperationName));
        return await SettleAsync(command, cancellationToken);
    }

    /// <summary>
    /// Settles the start of the Veo operation <paramref name="operationName"/> once it ended: <see cref="Billing.Billed"/>
    /// for <paramref name="videoSeconds"/> at the start's expected price, <see cref="Billing.NotBilled"/>, or
    /// <see cref="Billing.PossiblyBilled"/>; empty when it was settled already.
    /// </summary>
    public async Task<IReadOnlyList<SettledCost>> VideoEndedAsync(
        string jobId, string operationName, Billing billing, int? videoSeconds, string? error, CancellationToken cancellationToken)
    {
        var command = new NpgsqlBatchCommand(SqlQueries.Get("CostVideoEnded"));
        command.Parameters.AddWithValue("JobId", jobId);
        command.Parameters.AddWithValue("OperationName", operationName);
        command.Parameters.Add(Text("State", StateOf(billing)));
        command.Parameters.Add(Int("VideoSeconds", billing == Billing.Billed ? videoSeconds : null));
        command.Parameters.Add(Text("Error", error));
        return await SettleAsync(command, cancellationToken);
    }

    /// <summary>Settles every open request of the given (dead) silos as possibly billed.</summary>
    public async Task<IReadOnlyList<SettledCost>> SettleOwnersAsync(IReadOnlyCollection<string> owners, CancellationToken cancellationToken)
    {
        var command = new NpgsqlBatchCommand(SqlQueries.Get("CostSettleOwners"));
        command.Parameters.AddWithValue("Owners", owners.ToArray());
        return await SettleAsync(command, cancellationToken);
    }

    /// <summary>Today's (UTC) spend.</summary>
    public async Task<DailySpend> SpendTodayAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("CostSpendToday"));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new DailySpend(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4));
    }

    /// <summary>The ledger's name of <paramref name="billing"/>.</summary>
    public static string StateOf(Billing billing) => billing switch
    {
        Billing.Billed => "billed",
        Billing.NotBilled => "not_billed",
        Billing.PossiblyBilled => "possibly_billed",
        _ => "awaiting_video",
    };

    /// <summary>
    /// Runs <paramref name="settle"/> and the copy of settled requests into the cost table in one batch (one implicit
    /// transaction): a settled request is never left without its cost record.
    /// </summary>
    private async Task<IReadOnlyList<SettledCost>> SettleAsync(NpgsqlBatchCommand settle, CancellationToken cancellationToken)
    {
        var track = await appTables.CostTrackingPresentAsync(cancellationToken) ? "CostTrackApp" : "CostTrackOwn";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection) { BatchCommands = { settle, new NpgsqlBatchCommand(SqlQueries.Get(track)) } };
        var settled = new List<SettledCost>();
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            settled.Add(new SettledCost(
                reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), BillingOf(reader.GetString(4)),
                reader.IsDBNull(5) ? 0 : reader.GetInt64(5)));
        }

        return settled;
    }

    private static Billing BillingOf(string state) => state switch
    {
        "billed" => Billing.Billed,
        "not_billed" => Billing.NotBilled,
        "possibly_billed" => Billing.PossiblyBilled,
        _ => Billing.AwaitingVideo,
    };

    private static NpgsqlParameter Text(string name, string? value) =>
        new(name, NpgsqlDbType.Text) { Value = (object?)value ?? DBNull.Value };

    private static NpgsqlParameter Int(string name, int? value) =>
        new(name, NpgsqlDbType.Integer) { Value = (object?)value ?? DBNull.Value };

    private static NpgsqlParameter Bigint(string name, long? value) =>
        new(name, NpgsqlDbType.Bigint) { Value = (object?)value ?? DBNull.Value };
}
