using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace GenerationWorker.Grains.Dispatch;

/// <summary>
/// Places the <see cref="ServiceStopGrain"/> on the cluster's oldest active silo and keeps it out of the grain
/// directory: every silo finds it there, including one that is joining.
/// </summary>
/// <remarks>
/// Through the directory, a silo that joins takes over part of it, and a lookup it makes before the entries reach it
/// creates a second activation: the joining silo, asking whether the service was stopped before it claims, would find a
/// new activation that knows no stop (and the merge that follows could keep that one). The oldest active silo is the
/// same for every silo of the cluster while one joins; it changes only when that silo leaves, and the stop is then
/// forgotten, as it always was with its silo.
/// </remarks>
[GenerateSerializer, Immutable, Alias("ServiceStopPlacement")]
public sealed class ServiceStopPlacement : PlacementStrategy
{
    /// <inheritdoc />
    public override bool IsUsingGrainDirectory => false;
}

/// <summary>Marks a grain class as placed with <see cref="ServiceStopPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class ServiceStopPlacementAttribute() : PlacementAttribute(new ServiceStopPlacement());

/// <summary>Places a <see cref="ServiceStopPlacement"/> grain on the active silo that started first.</summary>
public sealed class ServiceStopPlacementDirector(IClusterMembershipService membership) : IPlacementDirector
{
    /// <inheritdoc />
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context) =>
        Task.FromResult(Oldest(membership.CurrentSnapshot) ?? context.LocalSilo);

    /// <summary>The active silo that started first (the lowest generation, then address), or null when none is active.</summary>
    public static SiloAddress? Oldest(ClusterMembershipSnapshot snapshot) => snapshot.Members.Values
        .Where(member => member.Status == SiloStatus.Active)
        .Select(member => member.SiloAddress)
        .OrderBy(silo => silo.Generation)
        .ThenBy(silo => silo.ToParsableString(), StringComparer.Ordinal)
        .FirstOrDefault();
}
