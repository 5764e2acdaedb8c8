using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime.Membership;
using static GenerationWorker.Grains.Tests.Postgres.MembershipTableTests;

namespace GenerationWorker.Grains.Tests.Postgres;

/// <summary>
/// How the clustering provider reacts to the query keys present in orleansquery. These tests take keys away for a
/// moment, so they have a database of their own.
/// </summary>
public sealed class MembershipQueryKeyTests(OrleansDatabase database) : IClassFixture<OrleansDatabase>
{
    private static readonly CancellationToken Ct = CancellationToken.None;

    public static TheoryData<string> RequiredKeys() =>
    [
        "GatewaysQueryKey", "MembershipReadRowKey", "MembershipReadAllKey", "InsertMembershipVersionKey", "UpdateIAmAlivetimeKey",
        "InsertMembershipKey", "UpdateMembershipKey", "DeleteMembershipTableEntriesKey", "CleanupDefunctSiloEntriesKey",
    ];

    [Theory]
    [MemberData(nameof(RequiredKeys))]
    public async Task MissingRequiredKey_FailsSiloAndClientStartNamingTheKey(string key)
    {
        await using var hidden = await HideKeyAsync(key);

        var silo = await Assert.ThrowsAsync<ArgumentException>(() => NewTableAsync(database.ConnectionString, NewClusterId()));
        var client = await Assert.ThrowsAsync<ArgumentException>(() => NewGatewayProvider(NewClusterId()).InitializeGatewayListProviderAsync(Ct));

        Assert.Contains(key, silo.Message, StringComparison.Ordinal);
        Assert.Contains(key, client.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AllKeysPresent_SiloAndClientStart()
    {
        var table = await NewTableAsync(database.ConnectionString, NewClusterId());
        var gateways = NewGatewayProvider(NewClusterId());
        await gateways.InitializeGatewayListProviderAsync(Ct);

        Assert.Equal(0, (await table.ReadAllAsync(Ct)).Version.Version);
        Assert.Empty(await gateways.GetGatewaysAsync(Ct));
    }

    /// <summary>
    /// The service's bulk cleanup rule (used when the per-row key is absent): every row that is not Active and whose last
    /// heartbeat is older than the cutoff goes, Dead or not; Active rows and recently alive rows stay.
    /// </summary>
    [Fact]
    public async Task BulkCleanup_WithoutThePerRowKey_DeletesOldRowsThatAreNotActive()
    {
        await using var hidden = await HideKeyAsync("CleanupDefunctSiloEntryKey");
        var table = await NewTableAsync(database.ConnectionString, NewClusterId());
        var other = await NewTableAsync(database.ConnectionString, NewClusterId());
        await InsertAllAsync(table, CleanupCandidates());
        await InsertAllAsync(other, CleanupCandidates());
        var cutoff = CleanupCandidates()[0].IAmAliveTime.AddDays(8);

        await table.CleanupDefunctSiloEntriesAsync(new DateTimeOffset(cutoff), Ct);

        // Old Dead (11111) and old Joining (11112) are gone; old Active (11113) and recent Dead (11114) remain.
        var remaining = await MemberPortsAsync(table);
        Assert.Equal([11113, 11114], remaining);
        Assert.Equal(4, (await table.ReadAllAsync(Ct)).Version.Version);
        var untouched = await MemberPortsAsync(other);
        Assert.Equal([11111, 11112, 11113, 11114], untouched);
    }

    private static string NewClusterId() => "keys-" + Guid.NewGuid().ToString("N");

    private AdoNetGatewayListProvider NewGatewayProvider(string clusterId) => new(
        NullLogger<AdoNetGatewayListProvider>.Instance,
        new ServiceCollection().BuildServiceProvider(),
        Options.Create(new AdoNetClusteringClientOptions { Invariant = "Npgsql", ConnectionString = database.ConnectionString }),
        Options.Create(new GatewayOptions()),
        Options.Create(new ClusterOptions { ClusterId = clusterId, ServiceId = "key-tests" }));

    /// <summary>Renames the key so that providers starting now do not find it; disposing restores it.</summary>
    private async Task<HiddenKey> HideKeyAsync(string key)
    {
        Assert.Equal(1, await OrleansDatabase.ExecuteAsync(
            database.ConnectionString, "UPDATE orleansquery SET querykey = 'hidden:' || querykey WHERE querykey = @Key", ("Key", key)));
        return new HiddenKey(database.ConnectionString, key);
    }

    private sealed class HiddenKey(string connectionString, string key) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await OrleansDatabase.ExecuteAsync(
            connectionString, "UPDATE orleansquery SET querykey = @Key WHERE querykey = 'hidden:' || @Key", ("Key", key));
    }
}
