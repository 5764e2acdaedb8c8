using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime.Membership;
using Orleans.Runtime.MembershipService;

namespace GenerationWorker.Grains.Tests.Postgres;

/// <summary>
/// The Orleans ADO.NET clustering provider (<see cref="AdoNetClusteringTable"/>, <see cref="AdoNetGatewayListProvider"/>)
/// running against the schema in sql/migrations. Each test uses its own cluster id in one shared database whose session
/// time zone is America/New_York.
/// </summary>
public sealed class MembershipTableTests(OrleansDatabase database) : IClassFixture<OrleansDatabase>
{
    // Half an hour before New York switches to daylight saving time, with milliseconds.
    private static readonly DateTime T0 = new(2026, 3, 8, 6, 30, 0, 123, DateTimeKind.Utc);

    private static readonly CancellationToken Ct = CancellationToken.None;

    private readonly string _clusterId = "cluster-" + Guid.NewGuid().ToString("N");

    [Fact]
    public async Task FreshCluster_ReadsVersionZeroWithoutMembers()
    {
        var table = await NewTableAsync();

        var all = await table.ReadAllAsync(Ct);
        var row = await table.ReadRowAsync(Address(11111, 1), Ct);

        Assert.Equal(0, all.Version.Version);
        Assert.Empty(all.Members);
        Assert.Equal(0, row.Version.Version);
        Assert.Empty(row.Members);
    }

    [Fact]
    public async Task InitializingAgain_KeepsTheVersionRowAndReportsItExisted()
    {
        var table = await NewTableAsync();
        Assert.True(await table.InsertRowAsync(Entry(11111, 1, SiloStatus.Joining), (await table.ReadAllAsync(Ct)).Version.Next(), Ct));

        var again = await NewTableAsync();

        Assert.Equal(1, (await again.ReadAllAsync(Ct)).Version.Version);
        var insertVersion = await QueryTextAsync("InsertMembershipVersionKey");
        Assert.Equal(0L, await OrleansDatabase.ScalarAsync<long>(database.ConnectionString, insertVersion, ("DeploymentId", _clusterId)));
        Assert.Equal(1L, await OrleansDatabase.ScalarAsync<long>(database.ConnectionString, insertVersion, ("DeploymentId", _clusterId + "-new")));
    }

    [Fact]
    public async Task Insert_WithTheCurrentVersion_AddsTheMemberAndBumpsTheVersion()
    {
        var table = await NewTableAsync();
        var entry = Entry(11111, 7, SiloStatus.Joining, proxyPort: 30000);

        Assert.True(await table.InsertRowAsync(entry, (await table.ReadAllAsync(Ct)).Version.Next(), Ct));

        var all = await table.ReadAllAsync(Ct);
        Assert.Equal(1, all.Version.Version);
        var (stored, etag) = Assert.Single(all.Members);
        AssertSameEntry(entry, stored);
        Assert.Equal(all.Version.VersionEtag, etag);
        AssertSameEntry(entry, Assert.Single((await table.ReadRowAsync(entry.SiloAddress, Ct)).Members).Item1);
    }

    [Fact]
    public async Task Insert_RepeatedOrWithAStaleVersion_ReturnsFalseAndChangesNothing()
    {
        var table = await NewTableAsync();
        var first = Entry(11111, 1, SiloStatus.Joining);
        var stale = (await table.ReadAllAsync(Ct)).Version.Next();
        Assert.True(await table.InsertRowAsync(first, stale, Ct));

        // The same silo again, with the now-current version: the version would match but the key is taken.
        Assert.False(await table.InsertRowAsync(first, (await table.ReadAllAsync(Ct)).Version.Next(), Ct));
        // Another silo with the version read before the first insert.
        Assert.False(await table.InsertRowAsync(Entry(11112, 1, SiloStatus.Joining), stale, Ct));

        var all = await table.ReadAllAsync(Ct);
        Assert.Equal(1, all.Version.Version);
        AssertSameEntry(first, Assert.Single(all.Members).Item1);
    }

    [Fact]
    public async Task Update_WithTheCurrentVersion_ChangesStatusVotesAndAliveTimeAndBumpsTheVersion()
    {
        var table = await NewTableAsync();
        var entry = Entry(11111, 3, SiloStatus.Joining, proxyPort: 30000);
        Assert.True(await table.InsertRowAsync(entry, (await table.ReadAllAsync(Ct)).Version.Next(), Ct));
        var read = await table.ReadAllAsync(Ct);

        var changed = Entry(11111, 3, SiloStatus.Active, proxyPort: 30000);
        changed.IAmAliveTime = T0.AddMinutes(5);
        changed.SuspectTimes =
        [
            Tuple.Create(Address(11112, 9), T0.AddSeconds(1)),
            Tuple.Create(Address(11113, 4), T0.AddSeconds(2).AddMilliseconds(456)),
        ];
        Assert.True(await table.UpdateRowAsync(changed, read.Members[0].Item2, read.Version.Next(), Ct));

        var after = await table.ReadAllAsync(Ct);
        Assert.Equal(2, after.Version.Version);
        AssertSameEntry(changed, Assert.Single(after.Members).Item1);
    }

    [Fact]
    public async Task Update_WithAStaleVersion_ReturnsFalseAndChangesNothing()
    {
        var table = await NewTableAsync();
        var entry = Entry(11111, 3, SiloStatus.Joining);
        var beforeInsert = (await table.ReadAllAsync(Ct)).Version;
        Assert.True(await table.InsertRowAsync(entry, beforeInsert.Next(), Ct));
        var current = await table.ReadAllAsync(Ct);
        Assert.True(await table.UpdateRowAsync(Entry(11111, 3, SiloStatus.Active), current.Members[0].Item2, current.Version.Next(), Ct));

        // Version 1 was current a moment ago; the database is at 2 now.
        Assert.False(await table.UpdateRowAsync(Entry(11111, 3, SiloStatus.Dead), current.Members[0].Item2, current.Version.Next(), Ct));

        var after = await table.ReadAllAsync(Ct);
        Assert.Equal(2, after.Version.Version);
        Assert.Equal(SiloStatus.Active, after.Members[0].Item1.Status);
    }

    [Fact]
    public async Task Update_OfAMissingMember_ReturnsFalseAndKeepsTheVersion()
    {
        var table = await NewTableAsync();
        Assert.True(await table.InsertRowAsync(Entry(11111, 1, SiloStatus.Active), (await table.ReadAllAsync(Ct)).Version.Next(), Ct));
        var read = await table.ReadAllAsync(Ct);

        Assert.False(await table.UpdateRowAsync(Entry(22222, 1, SiloStatus.Dead), read.Version.VersionEtag, read.Version.Next(), Ct));

        Assert.Equal(1, (await table.ReadAllAsync(Ct)).Version.Version);
    }

    [Fact]
    public async Task TwentyParallelInsertsOfOneEntry_ExactlyOneSucceeds()
    {
        var table = await NewTableAsync();
        var version = (await table.ReadAllAsync(Ct)).Version.Next();
        var entry = Entry(11111, 1, SiloStatus.Joining);

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() => table.InsertRowAsync(entry, version, Ct))));

        Assert.Single(results, inserted => inserted);
        var all = await table.ReadAllAsync(Ct);
        Assert.Equal(1, all.Version.Version);
        Assert.Single(all.Members);
    }

    [Fact]
    public async Task NineteenCompetingUpdaters_EachSucceedOnceAndTheVersionEndsAtTwenty()
    {
        var table = await NewTableAsync();
        Assert.True(await table.InsertRowAsync(Entry(11111, 1, SiloStatus.Joining), (await table.ReadAllAsync(Ct)).Version.Next(), Ct));
        var deadline = DateTime.UtcNow.AddSeconds(60);

        var attempts = await Task.WhenAll(Enumerable.Range(0, 19).Select(i => Task.Run(async () =>
        {
            for (var attempt = 1; ; attempt++)
            {
                Assert.True(DateTime.UtcNow < deadline, "updater did not get through within 60 s");
                var read = await table.ReadAllAsync(Ct);
                var entry = read.Members[0].Item1;
                entry.IAmAliveTime = T0.AddSeconds(i);
                if (await table.UpdateRowAsync(entry, read.Members[0].Item2, read.Version.Next(), Ct))
                {
                    return attempt;
                }
            }
        })));

        Assert.Equal(19, attempts.Length);
        Assert.Equal(20, (await table.ReadAllAsync(Ct)).Version.Version);
    }

    [Fact]
    public async Task Heartbeat_ChangesOnlyTheAliveTime()
    {
        var table = await NewTableAsync();
        var entry = Entry(11111, 1, SiloStatus.Active, proxyPort: 30000);
        Assert.True(await table.InsertRowAsync(entry, (await table.ReadAllAsync(Ct)).Version.Next(), Ct));

        var heartbeat = Entry(11111, 1, SiloStatus.Dead, proxyPort: 1);
        heartbeat.IAmAliveTime = T0.AddMinutes(42);
        heartbeat.SiloName = "renamed";
        await table.UpdateIAmAliveAsync(heartbeat, Ct);

        var all = await table.ReadAllAsync(Ct);
        Assert.Equal(1, all.Version.Version);
        var stored = Assert.Single(all.Members).Item1;
        entry.IAmAliveTime = T0.AddMinutes(42);
        AssertSameEntry(entry, stored);
    }

    [Fact]
    public async Task Gateways_AreTheActiveSilosWithAProxyPort()
    {
        var table = await NewTableAsync();
        await InsertAllAsync(table,
            Entry(11111, 5, SiloStatus.Active, proxyPort: 30001),
            Entry(11112, 6, SiloStatus.Active, proxyPort: 0),
            Entry(11113, 7, SiloStatus.Joining, proxyPort: 30003),
            Entry(11114, 8, SiloStatus.Dead, proxyPort: 30004),
            Entry(11115, 9, SiloStatus.ShuttingDown, proxyPort: 30005),
            Entry(11116, 10, SiloStatus.Active, proxyPort: 30006));
        var gateways = new AdoNetGatewayListProvider(
            NullLogger<AdoNetGatewayListProvider>.Instance,
            new ServiceCollection().BuildServiceProvider(),
            Options.Create(new AdoNetClusteringClientOptions { Invariant = "Npgsql", ConnectionString = database.ConnectionString }),
            Options.Create(new GatewayOptions()),
            Options.Create(new ClusterOptions { ClusterId = _clusterId, ServiceId = "membership-tests" }));
        await gateways.InitializeGatewayListProviderAsync(Ct);

        var uris = await gateways.GetGatewaysAsync(Ct);

        Assert.Equal(
            ["gwy.tcp://127.0.0.1:30001/5", "gwy.tcp://127.0.0.1:30006/10"],
            uris.Select(uri => uri.ToString().TrimEnd('/')).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Cleanup_DeletesOnlyOldDeadRows_WithThePerRowQuery()
    {
        var table = await NewTableAsync();
        await InsertAllAsync(table, CleanupCandidates());

        await table.CleanupDefunctSiloEntriesAsync(new DateTimeOffset(T0.AddDays(-1)), Ct);

        var remaining = await MemberPortsAsync(table);
        Assert.Equal([11112, 11113, 11114], remaining);
        Assert.Equal(4, (await table.ReadAllAsync(Ct)).Version.Version);
    }

    [Fact]
    public async Task PerRowCleanupQuery_KeepsARowThatChangedSinceItWasRead()
    {
        var table = await NewTableAsync();
        var dead = Entry(11111, 1, SiloStatus.Dead, start: T0.AddDays(-10), alive: T0.AddDays(-9));
        await InsertAllAsync(table, dead);
        var delete = await QueryTextAsync("CleanupDefunctSiloEntryKey");
        (string, object?)[] Captured(DateTime alive, string? suspectTimes) =>
        [
            ("DeploymentId", _clusterId), ("Address", "127.0.0.1"), ("Port", 11111), ("Generation", 1),
            ("SuspectTimes", suspectTimes), ("StartTime", T0.AddDays(-10)), ("IAmAliveTime", alive),
        ];

        // A heartbeat landed after the runtime read the row, or a vote was cast: the row stays.
        Assert.Equal(0, await OrleansDatabase.ExecuteAsync(database.ConnectionString, delete, Captured(T0.AddDays(-8), null)));
        Assert.Equal(0, await OrleansDatabase.ExecuteAsync(database.ConnectionString, delete, Captured(T0.AddDays(-9), "127.0.0.1:1@1,2026-03-01 00:00:00.000 GMT")));
        Assert.Single((await table.ReadAllAsync(Ct)).Members);

        // Unchanged (an empty vote list counts as none): deleted.
        Assert.Equal(1, await OrleansDatabase.ExecuteAsync(database.ConnectionString, delete, Captured(T0.AddDays(-9), "")));
        Assert.Empty((await table.ReadAllAsync(Ct)).Members);
    }

    [Fact]
    public async Task Timestamps_RoundTripExactly_WithANewYorkSessionTimeZone()
    {
        Assert.Equal(OrleansDatabase.TimeZone, await OrleansDatabase.ScalarAsync<string>(database.ConnectionString, "SHOW timezone"));
        var table = await NewTableAsync();
        var entry = Entry(11111, 1, SiloStatus.Active, start: T0, alive: T0.AddHours(1));
        entry.SuspectTimes = [Tuple.Create(Address(11112, 2), T0.AddMinutes(45))];
        await InsertAllAsync(table, entry);
        var read = await table.ReadAllAsync(Ct);
        Assert.True(await table.UpdateRowAsync(entry, read.Members[0].Item2, read.Version.Next(), Ct));

        var stored = Assert.Single((await table.ReadAllAsync(Ct)).Members).Item1;

        AssertSameEntry(entry, stored);
        Assert.Equal(DateTimeKind.Utc, stored.StartTime.Kind);
        Assert.Equal("2026-03-08 06:30:00.123 / 2026-03-08 07:30:00.123", await OrleansDatabase.ScalarAsync<string>(
            database.ConnectionString,
            "SELECT to_char(start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') || ' / ' || to_char(i_am_alive_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') FROM orleans_membership WHERE deployment_id = @Id",
            ("Id", _clusterId)));
    }

    [Fact]
    public async Task DeleteEntries_RemovesTheMembersAndTheVersionOfThatClusterOnly()
    {
        var table = await NewTableAsync();
        await InsertAllAsync(table, Entry(11111, 1, SiloStatus.Active), Entry(11112, 1, SiloStatus.Active));
        var otherCluster = _clusterId + "-other";
        var other = await NewTableAsync(otherCluster);
        await InsertAllAsync(other, Entry(11111, 1, SiloStatus.Active));

        await table.DeleteMembershipTableEntriesAsync(_clusterId, Ct);

        Assert.Equal(0L, await OrleansDatabase.ScalarAsync<long>(database.ConnectionString,
            "SELECT (SELECT count(*) FROM orleans_membership WHERE deployment_id = @Id) + (SELECT count(*) FROM orleans_membership_version WHERE deployment_id = @Id)",
            ("Id", _clusterId)));
        Assert.Single((await other.ReadAllAsync(Ct)).Members);
    }

    internal static async Task<AdoNetClusteringTable> NewTableAsync(string connectionString, string clusterId)
    {
        var table = new AdoNetClusteringTable(
            new ServiceCollection().BuildServiceProvider(),
            Options.Create(new ClusterOptions { ClusterId = clusterId, ServiceId = "membership-tests" }),
            Options.Create(new AdoNetClusteringSiloOptions { Invariant = "Npgsql", ConnectionString = connectionString }),
            NullLogger<AdoNetClusteringTable>.Instance);
        await table.InitializeMembershipTableAsync(true, Ct);
        return table;
    }

    /// <summary>
    /// Old Dead (11111), old Joining (11112), old Active (11113), and a Dead row that was alive after the cutoff (11114).
    /// </summary>
    internal static MembershipEntry[] CleanupCandidates() =>
    [
        Entry(11111, 1, SiloStatus.Dead, start: T0.AddDays(-10), alive: T0.AddDays(-9)),
        Entry(11112, 1, SiloStatus.Joining, start: T0.AddDays(-10), alive: T0.AddDays(-9)),
        Entry(11113, 1, SiloStatus.Active, start: T0.AddDays(-10), alive: T0.AddDays(-9)),
        Entry(11114, 1, SiloStatus.Dead, start: T0.AddDays(-10), alive: T0),
    ];

    internal static async Task InsertAllAsync(AdoNetClusteringTable table, params MembershipEntry[] entries)
    {
        foreach (var entry in entries)
        {
            Assert.True(await table.InsertRowAsync(entry, (await table.ReadAllAsync(Ct)).Version.Next(), Ct));
        }
    }

    internal static async Task<int[]> MemberPortsAsync(AdoNetClusteringTable table) =>
        [.. (await table.ReadAllAsync(Ct)).Members.Select(member => member.Item1.SiloAddress.Endpoint.Port).Order()];

    internal static SiloAddress Address(int port, int generation) => SiloAddress.New(IPAddress.Loopback, port, generation);

    internal static MembershipEntry Entry(
        int port, int generation, SiloStatus status, int proxyPort = 0, DateTime? start = null, DateTime? alive = null) => new()
    {
        SiloAddress = Address(port, generation),
        SiloName = $"silo-{port}",
        HostName = "host-" + port,
        Status = status,
        ProxyPort = proxyPort,
        StartTime = start ?? T0,
        IAmAliveTime = alive ?? T0,
        SuspectTimes = [],
    };

    private Task<AdoNetClusteringTable> NewTableAsync(string? clusterId = null) =>
        NewTableAsync(database.ConnectionString, clusterId ?? _clusterId);

    private Task<string> QueryTextAsync(string key) => OrleansDatabase.ScalarAsync<string>(
        database.ConnectionString, "SELECT querytext FROM orleansquery WHERE querykey = @Key", ("Key", key));

    private static void AssertSameEntry(MembershipEntry expected, MembershipEntry actual)
    {
        Assert.Equal(expected.SiloAddress, actual.SiloAddress);
        Assert.Equal(expected.SiloName, actual.SiloName);
        Assert.Equal(expected.HostName, actual.HostName);
        Assert.Equal(expected.Status, actual.Status);
        Assert.Equal(expected.ProxyPort, actual.ProxyPort);
        Assert.Equal(expected.StartTime, actual.StartTime);
        Assert.Equal(expected.IAmAliveTime, actual.IAmAliveTime);
        Assert.Equal(
            (expected.SuspectTimes ?? []).Select(vote => (vote.Item1, vote.Item2)),
            (actual.SuspectTimes ?? []).Select(vote => (vote.Item1, vote.Item2)));
    }
}
