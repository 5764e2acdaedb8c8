using Orleans.Runtime;

namespace GenerationWorker.Grains;

/// <summary>How a silo is named in <c>generation_job.locked_by</c> and as its dispatcher's key.</summary>
public static class SiloIdentity
{
    /// <summary>The silo's address with its generation (<c>ip:port@generation</c>): unique per silo process.</summary>
    public static string Of(SiloAddress silo) => silo.ToParsableString();
}
