namespace GenerationWorker.Silo.Tests;

/// <summary>
/// The test classes whose in-process silos export over OTLP: one at a time. A silo's OpenTelemetry SDK listens to every
/// meter of the process with the worker's name, so it also registers the backlog gauges of another such silo in the
/// same process; the first registration of an instrument name wins, and when that silo stops its gauge goes with it
/// (one silo per process in a deployment, never two).
/// </summary>
[CollectionDefinition(Name)]
public sealed class OtlpExporterCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "OTLP exporters";
}
