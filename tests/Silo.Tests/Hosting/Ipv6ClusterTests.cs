using System.Text.Json;
using GenerationWorker.TestSupport;
using Npgsql;

namespace GenerationWorker.Silo.Tests.Hosting;

/// <summary>Two silo processes that advertise IPv6 addresses (as on Railway's IPv6 private network).</summary>
[Collection(SiloProcessCollection.Name)]
public sealed class Ipv6ClusterTests(SiloProcessFixture fixture) : IClassFixture<SiloProcessFixture>
{
    private static readonly Dictionary<string, string?> Ipv6 = new() { ["ORLEANS_ADVERTISED_IP"] = "::1" };

    [Fact]
    public async Task TwoSilosOnIPv6Addresses_FormOneCluster_AndRunJobs()
    {
        await using var a = await fixture.StartSiloAsync(Ipv6);
        await using var b = await fixture.StartSiloAsync(Ipv6);

        JsonElement[] members = [];
        await Eventually.UntilAsync(
            async () =>
            {
                using var response = await a.Operator.GetAsync("cluster");
                members = (await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync())).RootElement
                    .GetProperty("members").EnumerateArray().ToArray();
                return members.Length == 2;
            },
            TimeSpan.FromSeconds(30),
            "/cluster lists both silos",
            lastObserved: () => a.Describe($"/cluster lists {members.Length} members"));

        Assert.All(members, member =>
        {
            var silo = member.GetProperty("silo").GetString()!;
            Assert.StartsWith("::1:", silo);
            Assert.Equal(silo, member.GetProperty("dispatcherRunsOn").GetString());
        });

        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM orleans_membership WHERE deployment_id = @cluster AND address = '::1' AND status = 3", connection);
        command.Parameters.AddWithValue("cluster", fixture.ClusterId);
        Assert.Equal(2L, (long)(await command.ExecuteScalarAsync())!);

        var ids = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            ids.Add(await fixture.Jobs.InsertAsync("image_generation", new { prompt = $"over IPv6 {i}" }));
        }

        var jobs = await fixture.Jobs.WaitAllFinalAsync(ids);
        Assert.All(jobs, job => Assert.Equal("completed", job.Status));
    }
}
