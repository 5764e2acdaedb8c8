namespace GenerationWorker.Interfaces;

/// <summary>Runs one claimed job (key: the job id): generates its images, uploads them, completes the row.</summary>
[Alias("IJobGrain")]
public interface IJobGrain : IGrainWithStringKey
{
    /// <summary>Starts the work of a claim and returns at once; the grain reports to the dispatcher when done.</summary>
    [Alias("StartAsync")]
    Task StartAsync(JobAssignment assignment, CancellationToken cancellationToken = default);

    /// <summary>Stops the job if it runs: the app cancelled it, or the silo is shutting down.</summary>
    [Alias("StopAsync")]
    Task StopAsync(JobStopReason reason, CancellationToken cancellationToken = default);
}

/// <summary>One claim of a job, handed by the dispatcher to the job grain.</summary>
/// <param name="JobId">The row's id.</param>
/// <param name="LeaseToken">The claim's fencing token: every write of the grain is conditioned on it.</param>
/// <param name="Attempt">The row's attempts after this claim.</param>
/// <param name="MaxAttempts">The row's max_attempts.</param>
/// <param name="DispatcherKey">The claiming dispatcher's key, to report back to.</param>
/// <param name="ReservedRequests">How many permits the silo's budget holds for this job's requests.</param>
/// <param name="ClientId">The row's client_id.</param>
/// <param name="Type">The row's type.</param>
/// <param name="PayloadJson">The row's payload, as JSON text.</param>
/// <param name="StoredVariants">Variants already stored by earlier attempts (0: nothing to read back).</param>
/// <param name="FlowId">The row's flow_id, or null.</param>
/// <param name="Interactive">True for an interactive job: a permit it waits for may come from the reserve.</param>
[GenerateSerializer, Immutable, Alias("JobAssignment")]
public sealed record JobAssignment(
    [property: Id(0)] string JobId,
    [property: Id(1)] Guid LeaseToken,
    [property: Id(2)] int Attempt,
    [property: Id(3)] int MaxAttempts,
    [property: Id(4)] string DispatcherKey,
    [property: Id(6)] int ReservedRequests,
    [property: Id(7)] string ClientId,
    [property: Id(8)] string Type,
    [property: Id(9)] string PayloadJson,
    [property: Id(10)] int StoredVariants,
    [property: Id(11)] string? FlowId = null,
    [property: Id(12)] bool Interactive = false);

/// <summary>Why a running job is stopped from outside.</summary>
[GenerateSerializer, Alias("JobStopReason")]
public enum JobStopReason
{
    /// <summary>The app set the row to cancelled: stop, write nothing.</summary>
    Cancelled = 0,

    /// <summary>The silo is shutting down: give the job back without spending its attempt.</summary>
    Shutdown = 1,
}
