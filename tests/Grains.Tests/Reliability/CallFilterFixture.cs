using Microsoft.Extensions.DependencyInjection;

namespace GenerationWorker.Grains.Tests.Reliability;

/// <summary>
/// A <see cref="ReliabilityFixture"/> whose silo runs every incoming grain call through <see cref="Filter"/>: a test
/// makes chosen calls fail or disappear, as a broken activation or a lost message would.
/// </summary>
public abstract class CallFilterFixture<TFilter> : ReliabilityFixture where TFilter : class, IIncomingGrainCallFilter, new()
{
    public TFilter Filter { get; } = new();

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Silo = await StartSiloAsync(configure: builder => builder.Services.AddSingleton<IIncomingGrainCallFilter>(Filter));
    }

    protected override bool StartsSilo => false;
}
