using System.Diagnostics;
using GenerationWorker.TestSupport;
using Xunit.Abstractions;

namespace GenerationWorker.Silo.Tests.Hosting;

/// <summary>
/// A newcomer joining past the row of a member that is not heartbeating: a crashed lone silo's successor serves at once,
/// a live but late member is left alone.
/// </summary>
[Collection(SiloProcessCollection.Name)]
public sealed class SuccessorProcessTests(SiloProcessFixture fixture, ITestOutputHelper output) : IClassFixture<SiloProcessFixture>
{
    private const int Active = 3;
    private const int Dead = 6;

    [Fact]
    public async Task KilledLoneSilo_ItsSuccessorOnOtherPorts_ServesWithinSeconds()
    {
        var cluster = Cluster();
        var lone = await fixture.StartSiloAsync(cluster);
        await lone.KillAsync();

        // Without the successor's own check the dead row blocks the join until it is three heartbeats (10 s each)
        // old: at least 20 s after the kill. A fresh silo starts in 3-9 s on a loaded test machine.
        var sinceStart = Stopwatch.StartNew();
        var successor = fixture.Launch(cluster);
        await successor.WaitHealthyAsync(TimeSpan.FromSeconds(15));
        var healthyAfter = sinceStart.Elapsed;

        output.WriteLine($"successor /health 200 {healthyAfter.TotalSeconds:0.00} s after its start");
        Assert.Equal(Dead, await fixture.MembershipStatusAsync(lone, cluster["ORLEANS_CLUSTER_ID"]));
        Assert.Equal(Active, await fixture.MembershipStatusAsync(successor, cluster["ORLEANS_CLUSTER_ID"]));
        Assert.Contains($"Declaring silo S127.0.0.1:{lone.SiloPort}:", successor.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LiveMemberWithALateHeartbeat_IsNotDeclaredDeadByANewcomer()
    {
        var cluster = Cluster();
        var clusterId = cluster["ORLEANS_CLUSTER_ID"]!;
        var live = await fixture.StartSiloAsync(cluster);
        // It started an hour ago and its last heartbeat is 11 s old and stays so (its writes of it are dropped) while it
        // answers probes: late by more than a heartbeat period (10 s), not yet stale to Orleans (three periods).
        await fixture.Jobs.ExecuteAsync(
            "UPDATE orleans_membership SET start_time = now() - interval '1 hour', i_am_alive_time = now() - interval '11 seconds' WHERE deployment_id = @cluster AND port = @port",
            ("cluster", clusterId), ("port", live.SiloPort));
        await fixture.Jobs.ExecuteAsync(
            """
            CREATE FUNCTION keep_heartbeat() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN NEW.i_am_alive_time := OLD.i_am_alive_time; RETURN NEW; END $$
            """);
        await fixture.Jobs.ExecuteAsync(
            $"""
            CREATE TRIGGER keep_heartbeat BEFORE UPDATE ON orleans_membership FOR EACH ROW
            WHEN (OLD.deployment_id = '{clusterId}' AND OLD.port = {live.SiloPort}) EXECUTE FUNCTION keep_heartbeat()
            """);
        SiloProcess newcomer;
        try
        {
            newcomer = fixture.Launch(cluster);
            // Frozen until the newcomer has joined (its check is done by then), before Orleans finds it stale: a
            // newcomer that joins next to a member Orleans holds stale fails its start on its own (exit 134, "invalid
            // silo ... Known status: Dead"), with or without the newcomer's check.
            await Eventually.UntilAsync(
                async () => newcomer.HasExited || await fixture.MembershipStatusAsync(newcomer, clusterId) == Active,
                TimeSpan.FromSeconds(30),
                "the newcomer joins or exits",
                lastObserved: () => newcomer.Describe("the newcomer did not join"));
        }
        finally
        {
            await fixture.Jobs.ExecuteAsync("DROP TRIGGER keep_heartbeat ON orleans_membership");
            await fixture.Jobs.ExecuteAsync("DROP FUNCTION keep_heartbeat()");
        }

        await newcomer.WaitHealthyAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(Active, await fixture.MembershipStatusAsync(live, clusterId));
        Assert.Equal(Active, await fixture.MembershipStatusAsync(newcomer, clusterId));
        Assert.DoesNotContain("Declaring silo", newcomer.Output, StringComparison.Ordinal);
        using var health = await live.Http.GetAsync("health");
        Assert.Equal("""{"status":"healthy","worker":"running"}""", await health.Content.ReadAsStringAsync());
    }

    /// <summary>A cluster of its own for one test (the fixture's database is shared by the class).</summary>
    private static Dictionary<string, string?> Cluster() =>
        new() { ["ORLEANS_CLUSTER_ID"] = "succ-" + Guid.NewGuid().ToString("N")[..12] };
}
