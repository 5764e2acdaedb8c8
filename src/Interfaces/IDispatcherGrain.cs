using Orleans.Concurrency;

namespace GenerationWorker.Interfaces;

/// <summary>
/// Claims jobs for one silo (its key is the silo's address) and hands each to a <see cref="IJobGrain"/> on that silo,
/// keeping at most <c>WORKER_CONCURRENCY</c> in flight.
/// </summary>
[Alias("IDispatcherGrain")]
public interface IDispatcherGrain : IGrainWithStringKey
{
    /// <summary>Asks the dispatcher to look for claimable jobs now (a notification arrived, a slot freed).</summary>
    [Alias("WakeAsync"), OneWay]
    Task WakeAsync();

    /// <summary>Tells the dispatcher that a job it started has finished, whatever the outcome.</summary>
    [Alias("JobFinishedAsync"), OneWay]
    Task JobFinishedAsync(string jobId);

    /// <summary>
    /// Gemini answered 429 for <paramref name="model"/> somewhere in the cluster: this silo sends nothing more to it for
    /// <paramref name="pause"/> (the permits it holds for it go back).
    /// </summary>
    [Alias("ModelPausedAsync"), OneWay]
    Task ModelPausedAsync(string model, TimeSpan pause);

    /// <summary>The app cancelled a job: stop it if this dispatcher runs it.</summary>
    [Alias("CancelJobAsync"), OneWay]
    Task CancelJobAsync(string jobId);

    /// <summary>
    /// A job of this silo found the service refused (a bad or leaked Gemini key, an image store answering AccessDenied or
    /// NoSuchBucket): stop claiming, report it, and have every silo of the cluster stop too.
    /// </summary>
    [Alias("ReportFatalAsync")]
    Task ReportFatalAsync(string reason, CancellationToken cancellationToken = default);

    /// <summary>
    /// Another silo reported <paramref name="stop"/>: stop claiming and report it, when this silo runs with the same
    /// configuration. Jobs in flight go on.
    /// </summary>
    [Alias("ServiceStoppedAsync"), OneWay]
    Task ServiceStoppedAsync(ServiceStop stop);

    /// <summary>Stops claiming; in-flight jobs go on (graceful shutdown).</summary>
    [Alias("StopClaimingAsync")]
    Task StopClaimingAsync(CancellationToken cancellationToken = default);

    /// <summary>Stops every job still in flight with <paramref name="reason"/> (the end of a graceful shutdown).</summary>
    [Alias("StopJobsAsync")]
    Task StopJobsAsync(JobStopReason reason, CancellationToken cancellationToken = default);

    /// <summary>The dispatcher's view: jobs in flight and whether it claims.</summary>
    [Alias("GetStatusAsync")]
    Task<DispatcherStatus> GetStatusAsync(CancellationToken cancellationToken = default);
}

/// <summary>A dispatcher's state.</summary>
/// <param name="InFlight">The ids of the jobs it runs now.</param>
/// <param name="Claiming">False once stopped (draining) or after the service was refused (on any silo).</param>
/// <param name="StoppedReason">Why it stopped claiming, if it did.</param>
/// <param name="RunsOn">The silo its activation runs on (its own silo, normally).</param>
/// <param name="StandingSlots">Gemini permits this silo's budget holds in its pool, not yet given to a job.</param>
[GenerateSerializer, Immutable, Alias("DispatcherStatus")]
public sealed record DispatcherStatus(
    [property: Id(0)] IReadOnlyList<string> InFlight,
    [property: Id(1)] bool Claiming,
    [property: Id(2)] string? StoppedReason,
    [property: Id(3)] string RunsOn,
    [property: Id(4)] int StandingSlots = 0);
