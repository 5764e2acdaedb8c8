using System.Diagnostics;
using GenerationWorker.TestSupport;
using Xunit.Abstractions;

namespace GenerationWorker.Silo.Tests.Hosting;

/// <summary>A cluster of one replica that crashes and is replaced, as a platform restarts a lone container.</summary>
[Collection(SiloProcessCollection.Name)]
public sealed class LoneReplicaTests(SiloProcessFixture fixture, ITestOutputHelper output) : IClassFixture<SiloProcessFixture>
{
    /// <summary>
    /// The bound asserted, from the kill to the successor's /health 200: before the fix 27-29 s, of which about 20 s
    /// waiting for the dead silo's heartbeat to go stale. The successor's own start-up (process, libvips, Orleans, web
    /// host) takes most of what remains, and on a shared test machine it alone varies from 3 to 8 s: hence 15 s here,
    /// with the figures written to the output.
    /// </summary>
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task AfterKill9OfTheOnlySilo_ASuccessorOnNewPorts_IsHealthyWithinSeconds()
    {
        var coldStart = Stopwatch.StartNew();
        var silo = await fixture.StartSiloAsync();
        output.WriteLine($"first silo, no dead entry: /health 200 in {coldStart.Elapsed.TotalSeconds:0.00} s from launch");
        var figures = new List<string>();
        for (var run = 1; run <= 5; run++)
        {
            await silo.KillAsync();
            var sinceKill = Stopwatch.StartNew();
            var successor = fixture.Launch();
            await successor.WaitHealthyAsync(TimeSpan.FromSeconds(60));
            var healthy = sinceKill.Elapsed;
            figures.Add($"{healthy.TotalSeconds:0.00} s");
            output.WriteLine($"run {run}: kill -9 -> successor /health 200 in {healthy.TotalSeconds:0.00} s");
            Assert.True(healthy < Limit, successor.Describe($"run {run}: the successor took {healthy.TotalSeconds:0.00} s"));
            silo = successor;
        }

        output.WriteLine("kill -9 -> successor healthy: " + string.Join(", ", figures));
    }
}
