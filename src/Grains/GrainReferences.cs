using GenerationWorker.Interfaces;
using Orleans.Metadata;
using Orleans.Runtime;

namespace GenerationWorker.Grains;

/// <summary>
/// References to the grains the worker calls once per job: a job grain from its dispatcher, a dispatcher and the quota
/// grain from each job.
/// </summary>
/// <remarks>
/// <c>GetGrain&lt;T&gt;(key)</c> resolves the interface's Orleans type by reflection on every call (2-3% of the silo's
/// CPU at 1,700 jobs/s); here each kind is resolved once, on first use, when the cluster's manifest is known.
/// </remarks>
public sealed class GrainReferences(
    IGrainFactory factory,
    GrainInterfaceTypeResolver interfaceTypes,
    GrainInterfaceTypeToGrainTypeResolver grainTypes)
{
    private Kind? _job;
    private Kind? _dispatcher;
    private IQuotaGrain? _quota;
    private IServiceStopGrain? _serviceStop;

    /// <summary>The cluster's one quota grain.</summary>
    public IQuotaGrain Quota => _quota ??= factory.GetGrain<IQuotaGrain>(IQuotaGrain.SingletonKey);

    /// <summary>The cluster's record of why the service stopped.</summary>
    public IServiceStopGrain ServiceStop => _serviceStop ??= factory.GetGrain<IServiceStopGrain>(IServiceStopGrain.SingletonKey);

    /// <summary>The job grain of <paramref name="jobId"/>.</summary>
    public IJobGrain Job(string jobId) => Get<IJobGrain>(_job ??= Resolve(typeof(IJobGrain)), jobId);

    /// <summary>The dispatcher grain of the silo whose key is <paramref name="key"/>.</summary>
    public IDispatcherGrain Dispatcher(string key) => Get<IDispatcherGrain>(_dispatcher ??= Resolve(typeof(IDispatcherGrain)), key);

    private T Get<T>(Kind kind, string key) => (T)factory.GetGrain(GrainId.Create(kind.GrainType, key), kind.InterfaceType);

    private Kind Resolve(Type interfaceType)
    {
        var grainInterface = interfaceTypes.GetGrainInterfaceType(interfaceType);
        return new Kind(grainTypes.GetGrainType(grainInterface), grainInterface);
    }

    private sealed record Kind(GrainType GrainType, GrainInterfaceType InterfaceType);
}
