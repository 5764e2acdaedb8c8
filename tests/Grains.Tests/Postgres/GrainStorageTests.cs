using System.Text;
using Orleans.Storage;

namespace GenerationWorker.Grains.Tests.Postgres;

/// <summary>
/// The Orleans ADO.NET grain storage provider, as started by real silos, against the schema in sql/migrations: the
/// provider instances the silo built are called directly where a test needs exact control over ETags, and through a
/// grain with <c>[PersistentState]</c> end to end.
/// </summary>
public sealed class GrainStorageTests(StorageCluster fixture) : IClassFixture<StorageCluster>
{
    private const string StateName = "probe";

    private IGrainStorage Default => fixture.Storage("Default");

    [Fact]
    public async Task Cluster_BothSilosAreActiveInTheMembershipTableAndTheClientFoundAGateway()
    {
        var active = await OrleansDatabase.ScalarAsync<long>(fixture.ConnectionString,
            "SELECT count(*) FROM orleans_membership WHERE deployment_id = @Id AND status = 3 AND proxy_port > 0", ("Id", fixture.ClusterId));
        Assert.Equal(2L, active);

        // The client reached the cluster through the gateway list read from the same table.
        Assert.Null(await fixture.Cluster.Client.GetGrain<IProbeStateGrain>("gateway-check").ReadAsync());
    }

    [Fact]
    public async Task SiloJoiningAndStoppingGracefully_IsActiveThenDeadInTheMembershipTable()
    {
        var extra = await fixture.Cluster.StartAdditionalSiloAsync();
        var address = extra.SiloAddress;
        Task<int> StatusAsync() => OrleansDatabase.ScalarAsync<int>(fixture.ConnectionString,
            "SELECT status FROM orleans_membership WHERE deployment_id = @Id AND address = @Address AND port = @Port AND generation = @Generation",
            ("Id", fixture.ClusterId), ("Address", address.Endpoint.Address.ToString()), ("Port", address.Endpoint.Port), ("Generation", address.Generation));

        Assert.Equal((int)SiloStatus.Active, await StatusAsync());

        await fixture.Cluster.StopSiloAsync(extra);

        Assert.Equal((int)SiloStatus.Dead, await StatusAsync());
    }

    [Fact]
    public async Task Grain_PersistsItsStateAcrossActivations()
    {
        var key = "grain-" + Guid.NewGuid().ToString("N");
        var grain = fixture.Cluster.Client.GetGrain<IProbeStateGrain>(key);

        Assert.Null(await grain.ReadAsync());
        Assert.Equal("1", await grain.WriteAsync("first"));
        Assert.Equal("2", await grain.WriteAsync("привет"));
        await grain.DeactivateAsync();

        Assert.Equal("привет", await grain.ReadAsync());
        Assert.Equal("3", await grain.ClearAsync());
        await grain.DeactivateAsync();
        Assert.False(await grain.RecordExistsAsync());
        Assert.Null(await grain.ReadAsync());
        Assert.Equal("4", await grain.WriteAsync("again"));
    }

    [Fact]
    public async Task FirstWrite_ReturnsAnETagThatReadsBackWithTheState()
    {
        var id = NewStringKey();
        var state = new GrainState<ProbeState>(new ProbeState { Text = "hello" });

        await Default.WriteStateAsync(StateName, id, state);

        Assert.Equal("1", state.ETag);
        Assert.True(state.RecordExists);
        var read = await ReadAsync(Default, id);
        Assert.Equal("hello", read.State!.Text);
        Assert.Equal("1", read.ETag);
        Assert.True(read.RecordExists);
        Assert.Contains("hello", Encoding.UTF8.GetString(await PayloadAsync(id)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NeverWritten_ReadsAsDefaultWithoutETag()
    {
        var read = await ReadAsync(Default, NewStringKey());

        Assert.Equal("", read.State!.Text);
        Assert.Null(read.ETag);
        Assert.False(read.RecordExists);
    }

    [Fact]
    public async Task WriteWithAStaleETag_ThrowsAndLeavesTheRowUnchanged()
    {
        var id = NewStringKey();
        var state = new GrainState<ProbeState>(new ProbeState { Text = "one" });
        await Default.WriteStateAsync(StateName, id, state);
        state.State!.Text = "two";
        await Default.WriteStateAsync(StateName, id, state);

        var stale = new GrainState<ProbeState>(new ProbeState { Text = "lost update" }, "1");
        await Assert.ThrowsAsync<InconsistentStateException>(() => Default.WriteStateAsync(StateName, id, stale));

        var read = await ReadAsync(Default, id);
        Assert.Equal("two", read.State!.Text);
        Assert.Equal("2", read.ETag);
    }

    [Fact]
    public async Task TwoFreshActivationsWritingAtOnce_ExactlyOneWinsAndOneRowExists()
    {
        for (var round = 0; round < 10; round++)
        {
            var id = NewStringKey();
            var writers = Enumerable.Range(0, 2)
                .Select(i => Task.Run(() => Default.WriteStateAsync(StateName, id, new GrainState<ProbeState>(new ProbeState { Text = "writer " + i }))))
                .ToArray();

            var outcomes = await Task.WhenAll(writers.Select(async writer =>
            {
                try
                {
                    await writer;
                    return "won";
                }
                catch (InconsistentStateException)
                {
                    return "lost";
                }
            }));

            Assert.Equal(["lost", "won"], outcomes.Order());
            Assert.Equal(1L, await RowCountAsync(id));
            Assert.Equal("1", (await ReadAsync(Default, id)).ETag);
        }
    }

    [Fact]
    public async Task Clear_KeepsTheRowWithANewETagAndOnlyThatETagWritesNext()
    {
        var id = NewStringKey();
        var state = new GrainState<ProbeState>(new ProbeState { Text = "to be cleared" });
        await Default.WriteStateAsync(StateName, id, state);

        await Default.ClearStateAsync(StateName, id, state);

        Assert.Equal("2", state.ETag);
        Assert.False(state.RecordExists);
        var read = await ReadAsync(Default, id);
        Assert.Equal("", read.State!.Text);
        Assert.Equal("2", read.ETag);
        Assert.False(read.RecordExists);
        Assert.Equal(1L, await RowCountAsync(id));

        await Assert.ThrowsAsync<InconsistentStateException>(() =>
            Default.WriteStateAsync(StateName, id, new GrainState<ProbeState>(new ProbeState { Text = "pre-clear etag" }, "1")));
        await Assert.ThrowsAsync<InconsistentStateException>(() =>
            Default.ClearStateAsync(StateName, id, new GrainState<ProbeState>(new ProbeState(), "1")));

        var next = new GrainState<ProbeState>(new ProbeState { Text = "after clear" }, "2");
        await Default.WriteStateAsync(StateName, id, next);
        Assert.Equal("3", next.ETag);
        Assert.Equal("after clear", (await ReadAsync(Default, id)).State!.Text);
    }

    [Fact]
    public async Task ClearWithDeleteStateOnClear_RemovesTheRowAndTheNextWriteInsertsAgain()
    {
        var deleting = fixture.Storage("DeleteOnClear");
        var id = NewStringKey();
        var state = new GrainState<ProbeState>(new ProbeState { Text = "to be deleted" });
        await deleting.WriteStateAsync(StateName, id, state);
        await deleting.WriteStateAsync(StateName, id, state);

        await Assert.ThrowsAsync<InconsistentStateException>(() =>
            deleting.ClearStateAsync(StateName, id, new GrainState<ProbeState>(new ProbeState(), "1")));
        Assert.Equal(1L, await RowCountAsync(id));

        await deleting.ClearStateAsync(StateName, id, state);

        Assert.Null(state.ETag);
        Assert.False(state.RecordExists);
        Assert.Equal(0L, await RowCountAsync(id));
        var read = await ReadAsync(deleting, id);
        Assert.Null(read.ETag);
        Assert.False(read.RecordExists);

        var again = new GrainState<ProbeState>(new ProbeState { Text = "reborn" });
        await deleting.WriteStateAsync(StateName, id, again);
        Assert.Equal("1", again.ETag);
    }

    [Fact]
    public async Task KeysOfEveryKind_AreStoredApartAndReadBack()
    {
        var guid = Guid.NewGuid();
        var number = Random.Shared.NextInt64(1, long.MaxValue);
        var unique = Guid.NewGuid().ToString("N");
        GrainId[] ids =
        [
            GrainId.Create(GrainType.Create("probe"), GrainIdKeyExtensions.CreateGuidKey(guid)),
            GrainId.Create(GrainType.Create("probe"), GrainIdKeyExtensions.CreateGuidKey(guid, "ext")),
            GrainId.Create(GrainType.Create("probe"), GrainIdKeyExtensions.CreateIntegerKey(number)),
            GrainId.Create(GrainType.Create("probe"), GrainIdKeyExtensions.CreateIntegerKey(number, "ext")),
            GrainId.Create(GrainType.Create("probe"), GrainIdKeyExtensions.CreateIntegerKey(-number, "другое расширение")),
            GrainId.Create("probe", "string-" + unique),
            GrainId.Create("probe", "строка-" + unique),
            GrainId.Create("probe", "long-" + unique + new string('x', 5000)),
        ];

        foreach (var id in ids)
        {
            await Default.WriteStateAsync(StateName, id, new GrainState<ProbeState>(new ProbeState { Text = "state of " + id }));
            await Default.WriteStateAsync("other", id, new GrainState<ProbeState>(new ProbeState { Text = "other state of " + id }));
        }

        foreach (var id in ids)
        {
            var read = await ReadAsync(Default, id);
            Assert.Equal("state of " + id, read.State!.Text);
            Assert.Equal("1", read.ETag);
            Assert.Equal("other state of " + id, (await ReadAsync(Default, id, "other")).State!.Text);
        }

        // The Guid and integer keys were split into their numeric parts and extension, not stored as text.
        Assert.Equal(1L, await OrleansDatabase.ScalarAsync<long>(fixture.ConnectionString,
            "SELECT count(*) FROM orleans_storage WHERE grain_type_string = 'probe' AND grain_id_n0 = 0 AND grain_id_n1 = @N AND grain_id_extension_string = 'ext'",
            ("N", number)));
        Assert.Equal(2L, await OrleansDatabase.ScalarAsync<long>(fixture.ConnectionString,
            "SELECT count(*) FROM orleans_storage WHERE grain_type_string = 'probe' AND grain_id_n0 = @N0 AND grain_id_n1 = @N1",
            ("N0", BitConverter.ToInt64(guid.ToByteArray(), 0)), ("N1", BitConverter.ToInt64(guid.ToByteArray(), 8))));
    }

    [Fact]
    public async Task ConstantHashes_DoNotMixUpGrains()
    {
        var storage = fixture.Storage("ConstantHash");
        var ids = Enumerable.Range(0, 5).Select(_ => NewStringKey()).ToArray();

        foreach (var id in ids)
        {
            await storage.WriteStateAsync(StateName, id, new GrainState<ProbeState>(new ProbeState { Text = id.ToString() }));
        }

        foreach (var id in ids)
        {
            var read = await ReadAsync(storage, id);
            Assert.Equal(id.ToString(), read.State!.Text);
            Assert.Equal("1", read.ETag);
        }

        Assert.Equal(5L, await OrleansDatabase.ScalarAsync<long>(fixture.ConnectionString,
            "SELECT count(*) FROM orleans_storage WHERE grain_id_hash = 7 AND grain_type_hash = 7"));
    }

    [Fact]
    public async Task HundredStatesInParallel_AreAllWrittenAndReadBack()
    {
        var ids = Enumerable.Range(0, 100).Select(_ => NewStringKey()).ToArray();

        await Task.WhenAll(ids.Select(id => Task.Run(() =>
            Default.WriteStateAsync(StateName, id, new GrainState<ProbeState>(new ProbeState { Text = "parallel " + id })))));
        var reads = await Task.WhenAll(ids.Select(id => Task.Run(() => ReadAsync(Default, id))));

        Assert.Equal(ids.Select(id => "parallel " + id), reads.Select(read => read.State!.Text));
        Assert.All(reads, read => Assert.Equal("1", read.ETag));
    }

    [Fact]
    public async Task MultiMegabyteState_RoundTrips()
    {
        var id = NewStringKey();
        var big = string.Create(6 * 1024 * 1024, 0, (chars, _) =>
        {
            for (var i = 0; i < chars.Length; i++)
            {
                chars[i] = (char)('a' + (i * 7 % 26));
            }
        });
        var state = new GrainState<ProbeState>(new ProbeState { Text = big });

        await Default.WriteStateAsync(StateName, id, state);
        await Default.WriteStateAsync(StateName, id, state);

        var read = await ReadAsync(Default, id);
        Assert.Equal(big, read.State!.Text);
        Assert.Equal("2", read.ETag);
        Assert.True((await PayloadAsync(id)).Length > big.Length);
    }

    private static GrainId NewStringKey() => GrainId.Create("probe", "key-" + Guid.NewGuid().ToString("N"));

    private static async Task<GrainState<ProbeState>> ReadAsync(IGrainStorage storage, GrainId id, string stateName = StateName)
    {
        var state = new GrainState<ProbeState>(new ProbeState());
        await storage.ReadStateAsync(stateName, id, state);
        return state;
    }

    private Task<long> RowCountAsync(GrainId id) => OrleansDatabase.ScalarAsync<long>(fixture.ConnectionString,
        "SELECT count(*) FROM orleans_storage WHERE service_id = @Service AND grain_type_string = @State AND grain_id_extension_string = @Key",
        ("Service", fixture.ServiceId), ("State", StateName), ("Key", id.Key.ToString()));

    private Task<byte[]> PayloadAsync(GrainId id) => OrleansDatabase.ScalarAsync<byte[]>(fixture.ConnectionString,
        "SELECT payload_binary FROM orleans_storage WHERE service_id = @Service AND grain_type_string = @State AND grain_id_extension_string = @Key",
        ("Service", fixture.ServiceId), ("State", StateName), ("Key", id.Key.ToString()));
}
