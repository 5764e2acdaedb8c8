using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace GenerationWorker.Grains;

/// <summary>
/// Places a grain on the silo that calls it and keeps it out of the cluster's grain directory: for a job's grain, which
/// only the silo that claimed the job calls (see <see cref="Dispatch.DispatcherPlacement"/> for the dispatcher).
/// </summary>
/// <remarks>
/// Orleans' default directory keeps each grain's registration on a silo chosen by hashing the grain id, and the moment
/// that silo starts shutting down, every activation registered there is deactivated, wherever it runs. When the whole
/// cluster is stopped at once (a deploy), a silo still draining would lose its dispatcher (reactivated empty, its drain
/// then sees nothing in flight and the silo exits with its jobs still processing) and its jobs' grains (their lease
/// renewal and stop signal gone) because a peer finished draining first. Unregistered, an activation ends only when
/// its own silo deactivates it.
/// </remarks>
[GenerateSerializer, Immutable, Alias("SiloLocalPlacement")]
public sealed class SiloLocalPlacement : PlacementStrategy
{
    /// <inheritdoc />
    public override bool IsUsingGrainDirectory => false;
}

/// <summary>Marks a grain class as placed with <see cref="SiloLocalPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class SiloLocalPlacementAttribute() : PlacementAttribute(new SiloLocalPlacement());

/// <summary>Places every activation of a <see cref="SiloLocalPlacement"/> grain on the calling silo.</summary>
public sealed class SiloLocalPlacementDirector : IPlacementDirector
{
    /// <inheritdoc />
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context) =>
        Task.FromResult(context.LocalSilo);
}
