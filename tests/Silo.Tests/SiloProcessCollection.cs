namespace GenerationWorker.Silo.Tests;

/// <summary>
/// The test classes that run silo processes: one at a time, so that the failover and shutdown times they measure are
/// not those of a machine busy starting other silos.
/// </summary>
[CollectionDefinition(Name)]
public sealed class SiloProcessCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "silo processes";
}
