using GenerationWorker.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Orleans.TestingHost;

namespace GenerationWorker.Grains.Tests.Postgres;

/// <summary>
/// Two in-process silos and a client clustered through the ADO.NET provider on a migrated database, with three ADO.NET
/// grain storages: <c>Default</c>, <c>DeleteOnClear</c> (DeleteStateOnClear = true) and <c>ConstantHash</c> (every hash
/// is the same number). One cluster serves a whole test class.
/// </summary>
public sealed class StorageCluster : IAsyncLifetime
{
    private const string ConnectionKey = "TestPostgres";

    public string ConnectionString { get; private set; } = "";

    public TestCluster Cluster { get; private set; } = null!;

    public string ServiceId => Cluster.Options.ServiceId;

    public string ClusterId => Cluster.Options.ClusterId;

    /// <summary>The storage provider named <paramref name="name"/>, as the primary silo resolved it.</summary>
    public IGrainStorage Storage(string name) =>
        Cluster.Silos.OfType<InProcessSiloHandle>().First().ServiceProvider.GetRequiredKeyedService<IGrainStorage>(name);

    public async Task InitializeAsync()
    {
        ConnectionString = await OrleansDatabase.CreateAsync();
        var builder = new TestClusterBuilder(2);
        builder.Options.UseTestClusterMembership = false;
        builder.Options.ClusterId = "storage-" + Guid.NewGuid().ToString("N");
        builder.Properties[ConnectionKey] = ConnectionString;
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        builder.AddClientBuilderConfigurator<ClientConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        if (Cluster is not null)
        {
            await Cluster.StopAllSilosAsync();
            await Cluster.DisposeAsync();
        }

        await PostgresServer.DropDatabaseAsync(ConnectionString);
    }

    public sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            var connectionString = siloBuilder.Configuration[ConnectionKey];
            siloBuilder.UseAdoNetClustering(o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = connectionString;
            });
            siloBuilder.AddAdoNetGrainStorage("Default", o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = connectionString;
            });
            siloBuilder.AddAdoNetGrainStorage("DeleteOnClear", o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = connectionString;
                o.DeleteStateOnClear = true;
            });
            siloBuilder.AddAdoNetGrainStorage("ConstantHash", o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = connectionString;
                o.HashPicker = new ConstantHashPicker();
            });
        }
    }

    public sealed class ClientConfigurator : IClientBuilderConfigurator
    {
        public void Configure(IConfiguration configuration, IClientBuilder clientBuilder) =>
            clientBuilder.UseAdoNetClustering(o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = configuration[ConnectionKey];
            });
    }

    /// <summary>Gives every grain and type the same hashes, so only the identity columns can tell rows apart.</summary>
    private sealed class ConstantHashPicker : IStorageHasherPicker
    {
        public ICollection<IHasher> HashProviders { get; } = [new ConstantHasher()];

        public IHasher PickHasher<T>(
            string serviceId, string storageProviderInstanceName, string grainType, GrainId grainId, IGrainState<T> grainState, string? tag = null) =>
            HashProviders.First();
    }

    private sealed class ConstantHasher : IHasher
    {
        public string Description => "every input hashes to 7";

        public int Hash(byte[] data) => 7;
    }
}
