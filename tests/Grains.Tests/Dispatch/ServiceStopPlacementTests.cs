using System.Collections.Immutable;
using System.Net;
using GenerationWorker.Grains.Dispatch;
using Orleans.Runtime;

namespace GenerationWorker.Grains.Tests.Dispatch;

public sealed class ServiceStopPlacementTests
{
    private static readonly SiloAddress First = Silo("10.9.0.3", generation: 100);
    private static readonly SiloAddress Second = Silo("10.9.0.1", generation: 200);
    private static readonly SiloAddress Joining = Silo("10.9.0.2", generation: 300);

    [Fact]
    public void TheOldestActiveSilo_HoldsIt_WhateverSiloAsks_AndAJoiningSiloDoesNotMoveIt()
    {
        var before = Snapshot((First, SiloStatus.Active), (Second, SiloStatus.Active));
        var whileJoining = Snapshot((First, SiloStatus.Active), (Second, SiloStatus.Active), (Joining, SiloStatus.Joining));
        var joined = Snapshot((Second, SiloStatus.Active), (Joining, SiloStatus.Active), (First, SiloStatus.Active));

        Assert.Equal(First, ServiceStopPlacementDirector.Oldest(before));
        Assert.Equal(First, ServiceStopPlacementDirector.Oldest(whileJoining));
        Assert.Equal(First, ServiceStopPlacementDirector.Oldest(joined));
    }

    [Fact]
    public void WhenTheOldestLeaves_TheNextOldestActiveSiloHoldsIt()
    {
        Assert.Equal(Second, ServiceStopPlacementDirector.Oldest(Snapshot((First, SiloStatus.ShuttingDown), (Second, SiloStatus.Active), (Joining, SiloStatus.Active))));
        Assert.Equal(Second, ServiceStopPlacementDirector.Oldest(Snapshot((First, SiloStatus.Dead), (Second, SiloStatus.Active))));
        Assert.Null(ServiceStopPlacementDirector.Oldest(Snapshot((First, SiloStatus.Dead))));
    }

    private static SiloAddress Silo(string ip, int generation) => SiloAddress.New(new IPEndPoint(IPAddress.Parse(ip), 11111), generation);

    private static ClusterMembershipSnapshot Snapshot(params (SiloAddress Silo, SiloStatus Status)[] members) => new(
        members.ToImmutableDictionary(m => m.Silo, m => new ClusterMember(m.Silo, m.Status, m.Silo.ToString())), new MembershipVersion(1));
}
