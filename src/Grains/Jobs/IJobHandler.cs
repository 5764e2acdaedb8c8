using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Postgres;
using GenerationWorker.Grains.Quota;
using GenerationWorker.Interfaces;

namespace GenerationWorker.Grains.Jobs;

/// <summary>
/// What one job type does with a claim of a job: parse its payload, fetch its inputs, call Gemini, store the results.
/// The executor (<see cref="JobGrain"/>) runs the claim around it: the lease, the stop causes, the time limit and the
/// fenced finish with the <see cref="JobResult"/> the handler returns.
/// </summary>
public interface IJobHandler
{
    /// <summary>The job type (<c>generation_job.type</c>) this handler runs.</summary>
    string Type { get; }

    /// <summary>Runs one claim of a job of <see cref="Type"/>.</summary>
    /// <param name="run">The claim: the job's row and the fenced writes a handler may make while it holds the lease.</param>
    /// <param name="cancellationToken">Fires when the job is cancelled, times out, loses its lease or the silo drains.</param>
    /// <returns>How the claim ends; the executor writes it.</returns>
    /// <exception cref="LeaseLostException">A fenced write found the lease gone: the executor stops the claim.</exception>
    Task<JobResult> RunAsync(IJobRun run, CancellationToken cancellationToken);
}

/// <summary>
/// A claim of a job as its handler sees it: the row as claimed, and the writes it may make while the claim holds the
/// lease. Each write is fenced by the lease token; when the lease is lost it throws <see cref="LeaseLostException"/>.
/// </summary>
public interface IJobRun
{
    /// <summary>The claim: the row's id, client, flow, payload, attempt, and what earlier attempts stored.</summary>
    JobAssignment Job { get; }

    /// <summary>The time since the claim started (a result's <c>duration</c>).</summary>
    TimeSpan Elapsed { get; }

    /// <summary>Records the model the job is routed to and the progress of its start.</summary>
    Task StartedAsync(string model, int progress, CancellationToken cancellationToken);

    /// <summary>Records that the fallback model <paramref name="model"/> is being called.</summary>
    Task FallbackCalledAsync(string model, CancellationToken cancellationToken);

    /// <summary>Raises the job's progress.</summary>
    Task ProgressAsync(int progress, CancellationToken cancellationToken);

    /// <summary>
    /// Makes sure the claim still holds its lease before a step that must not run without it (an upload to the job's
    /// keys), and extends it: renewed now, unless the claim itself or a renewal confirmed it within the last second.
    /// Throws <see cref="LeaseLostException"/> when the lease is lost.
    /// </summary>
    Task HoldLeaseAsync(CancellationToken cancellationToken);

    /// <summary>The variants earlier attempts of the job stored, never to be paid for again.</summary>
    Task<IReadOnlyList<StoredOutput>> StoredOutputsAsync(CancellationToken cancellationToken);

    /// <summary>Records a stored variant (and the progress) at once, so a later failure never pays for it again.</summary>
    Task RecordOutputAsync(UnrecordedOutput output, int progress, CancellationToken cancellationToken);

    /// <summary>
    /// Says how many Gemini requests the claim still needs: what the claim's budget reservation holds beyond that is
    /// given back at once.
    /// </summary>
    Task NeedRequestsAsync(int requests);

    /// <summary>
    /// Takes the budget's permit for one Gemini request to <paramref name="model"/>, just before it is sent (waiting
    /// for the budget if the job's own permits do not cover it, as a fallback model's request). Null: the model is
    /// paused (a 429), and the job must go back to the queue without sending it.
    /// </summary>
    Task<RequestPermit?> TakeRequestPermitAsync(string model, CancellationToken cancellationToken);

    /// <summary>Reports a 429 of <paramref name="model"/> at once, so the cluster pauses it before the job's other requests come back.</summary>
    Task ReportThrottledAsync(string model, GeminiOutcome.Throttled throttled);
}

/// <summary>The lease of the claim is gone (rescued, cancelled, claimed again): the claim must stop and write nothing.</summary>
public sealed class LeaseLostException() : Exception("The job's lease was lost.");

/// <summary>How a claim of a job ends, as its handler decides.</summary>
public abstract record JobResult
{
    private JobResult()
    {
    }

    /// <summary>Done: the row completes with <paramref name="ResultJson"/>.</summary>
    /// <param name="ResultJson">The <c>result</c> the app reads.</param>
    /// <param name="Last">The variant stored last, recorded by the completion itself, or null.</param>
    /// <param name="Assets">The app's asset rows to write in the completion's transaction, or null.</param>
    public sealed record Complete(string ResultJson, UnrecordedOutput? Last = null, AssetWrite? Assets = null) : JobResult;

    /// <summary>A permanent failure: the row fails with <paramref name="Error"/>, no retry.</summary>
    public sealed record Fail(string Error) : JobResult;

    /// <summary>A retryable failure: back to the queue with backoff (the server's delay when it gave one).</summary>
    public sealed record Retry(string Error, TimeSpan? ServerDelay = null) : JobResult;

    /// <summary>Not the job's fault: back to the queue after <paramref name="Delay"/>, its attempt refunded.</summary>
    public sealed record Release(string Why, TimeSpan Delay) : JobResult;

    /// <summary>
    /// Waiting on something already paid for (a video being generated): back to the queue after <paramref name="Delay"/>
    /// with <paramref name="Progress"/> and no error, holding no slot meanwhile. The attempt is neither spent nor refunded:
    /// the handler's own state decides what the next claim costs.
    /// </summary>
    public sealed record Snooze(TimeSpan Delay, int Progress) : JobResult;

    /// <summary>Gemini answered 429: back to the queue, its attempt refunded; the budget's pause decides when.</summary>
    public sealed record Throttle(GeminiOutcome.Throttled Outcome) : JobResult;

    /// <summary>Gemini refused the service itself (a bad key): the silo stops claiming; the job goes back.</summary>
    public sealed record StopService(string Reason) : JobResult;
}
