using GenerationWorker.Interfaces;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace GenerationWorker.Grains.Dispatch;

/// <summary>
/// Keeps why the service stopped, per configuration, and spreads it: when a silo reports a stop, the dispatcher of every
/// active silo hears of it at once; a dispatcher that activates later asks here before it claims.
/// </summary>
/// <remarks>
/// <para>In memory only. Persisted, a stop would outlive the restart the operator makes after fixing the variable, and
/// clearing it would need a command of its own. It lives on the oldest active silo, outside the grain directory
/// (<see cref="ServiceStopPlacement"/>), so a silo joining finds it. If that silo leaves, the new activation knows no
/// stop: the silos already told stay stopped, and a silo that joins afterwards stops on its first refused request, as
/// before.</para>
/// <para>No dispatcher misses a stop: one that is active when the stop is recorded is told, and one that activates
/// after asks, since the stop is recorded before anyone is told.</para>
/// <para>Kept active while idle (<see cref="KeepAliveAttribute"/>): the idle collector would otherwise forget the stop
/// after a quiet quarter of an hour, and a silo joining then would claim and be refused again.</para>
/// </remarks>
[KeepAlive]
[ServiceStopPlacement]
public sealed partial class ServiceStopGrain(
    GrainReferences grains,
    IClusterMembershipService membership,
    ILogger<ServiceStopGrain> logger) : Grain, IServiceStopGrain
{
    private readonly Dictionary<string, ServiceStop> _stops = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public Task StopAsync(ServiceStop stop)
    {
        if (!_stops.TryAdd(stop.Configuration, stop))
        {
            return Task.CompletedTask;
        }

        var silos = membership.CurrentSnapshot.Members.Values.Where(member => member.Status == SiloStatus.Active).ToList();
        LogStopped(logger, stop.ReportedBy, stop.Reason, silos.Count);
        foreach (var silo in silos)
        {
            // One-way: a silo that does not answer does not hold up the others.
            _ = grains.Dispatcher(SiloIdentity.Of(silo.SiloAddress)).ServiceStoppedAsync(stop);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<ServiceStop?> GetAsync(string configuration, CancellationToken cancellationToken = default) =>
        Task.FromResult(_stops.GetValueOrDefault(configuration));
}
