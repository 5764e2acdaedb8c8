using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace GenerationWorker.Grains.Dispatch;

/// <summary>
/// Places a dispatcher on the silo its key names (<see cref="SiloIdentity"/>) and keeps it out of the cluster's grain
/// directory, for the reason <see cref="SiloLocalPlacement"/> gives: only its own silo may deactivate it.
/// </summary>
/// <remarks>
/// Its silo calls it, and so does any silo serving <c>/cluster</c>: placement by key sends that call to the dispatcher
/// itself. A call for a silo the cluster declared dead (or never knew) activates a stand-in on the calling silo, which
/// claims nothing.
/// </remarks>
[GenerateSerializer, Immutable, Alias("DispatcherPlacement")]
public sealed class DispatcherPlacement : PlacementStrategy
{
    /// <inheritdoc />
    public override bool IsUsingGrainDirectory => false;
}

/// <summary>Marks a grain class as placed with <see cref="DispatcherPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class DispatcherPlacementAttribute() : PlacementAttribute(new DispatcherPlacement());

/// <summary>Places a <see cref="DispatcherPlacement"/> grain on the silo its key names, unless that silo is dead or unknown.</summary>
public sealed class DispatcherPlacementDirector(IClusterMembershipService membership) : IPlacementDirector
{
    /// <inheritdoc />
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var silo = SiloAddress.FromParsableString(target.GrainIdentity.Key.ToString()!);
        return Task.FromResult(membership.CurrentSnapshot.GetSiloStatus(silo) is SiloStatus.Dead or SiloStatus.None ? context.LocalSilo : silo);
    }
}
