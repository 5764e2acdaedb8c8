using Orleans.Concurrency;

namespace GenerationWorker.Interfaces;

/// <summary>
/// The cluster's record of why the service stopped: Gemini refused the service (an invalid or leaked key) or the image
/// store refused it (<c>AccessDenied</c>, <c>NoSuchBucket</c>). A stop reported by one silo stops claiming on every silo
/// that runs with the same configuration, including those that join later. A singleton: always use key
/// <see cref="SingletonKey"/>.
/// </summary>
/// <remarks>
/// Kept in memory: a restart of the whole cluster clears it. A silo whose configuration differs (the operator fixed the
/// variable and redeployed) is not stopped by an earlier stop, so a rolling deploy of the fix becomes healthy.
/// </remarks>
[Alias("IServiceStopGrain")]
public interface IServiceStopGrain : IGrainWithIntegerKey
{
    /// <summary>The key of the one grain.</summary>
    const long SingletonKey = 0;

    /// <summary>
    /// Records <paramref name="stop"/> (the first stop of a configuration is kept) and tells the dispatcher of every active
    /// silo at once.
    /// </summary>
    [Alias("StopAsync"), OneWay]
    Task StopAsync(ServiceStop stop);

    /// <summary>The stop recorded for silos running with <paramref name="configuration"/>, or null.</summary>
    /// <param name="configuration">The silo's configuration fingerprint (<see cref="ServiceStop.Configuration"/>).</param>
    [Alias("GetAsync")]
    Task<ServiceStop?> GetAsync(string configuration, CancellationToken cancellationToken = default);
}

/// <summary>Why the service stopped claiming.</summary>
/// <param name="Reason">What the outside service answered (no secret: an error message and a code).</param>
/// <param name="ReportedBy">The silo whose job got that answer.</param>
/// <param name="Configuration">
/// A fingerprint of the reporting silo's Gemini and image store settings: the stop applies to the silos whose
/// fingerprint is the same.
/// </param>
[GenerateSerializer, Immutable, Alias("ServiceStop")]
public sealed record ServiceStop(
    [property: Id(0)] string Reason,
    [property: Id(1)] string ReportedBy,
    [property: Id(2)] string Configuration);
