using GenerationWorker.Grains;
using GenerationWorker.Interfaces;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;

namespace GenerationWorker.Silo.Tests.Hosting;

/// <summary>
/// A call for another silo's dispatcher that lands on this silo (the other one was just killed; /cluster calls every
/// member's dispatcher) must not start a second dispatcher claiming jobs under the other silo's name.
/// </summary>
public sealed class ForeignDispatcherTests : IClassFixture<GeminiEmulatorFixture>, IAsyncLifetime
{
    // A silo that is not in this cluster, as a dead one's name reads.
    private const string ForeignSilo = "127.0.0.1:1@1";
    private const string Payload = """{"prompt":"a lamp","settings":{"aspectRatio":"1:1","numberOfVariants":1}}""";

    private readonly GeminiEmulatorFixture _emulator;
    private readonly string _storage = Path.Combine(Path.GetTempPath(), "silo-files-" + Guid.NewGuid().ToString("N"));
    private string _database = "";
    private WorkerSilo? _silo;

    public ForeignDispatcherTests(GeminiEmulatorFixture emulator) => _emulator = emulator;

    public async Task InitializeAsync()
    {
        _database = await PostgresServer.CreateDatabaseAsync("foreign");
        var env = WorkerSilo.BaseEnvironment(_database, _emulator.BaseUrl, _emulator.ApiKey, _storage);
        // Only an explicit wake makes a dispatcher claim: no notifications, a poll once an hour.
        env["LISTEN_ENABLED"] = "false";
        env["POLL_INTERVAL_MS"] = "3600000";
        _silo = await WorkerSilo.StartAsync(env);
    }

    public async Task DisposeAsync()
    {
        if (_silo is not null)
        {
            await _silo.DisposeAsync();
        }

        await PostgresServer.DropDatabaseAsync(_database);
        if (Directory.Exists(_storage))
        {
            Directory.Delete(_storage, recursive: true);
        }
    }

    [Fact]
    public async Task ADispatcherActivatedOffItsSilo_ClaimsNothing_AndTheLocalOneRunsTheJob()
    {
        var silo = _silo!;
        var local = SiloIdentity.Of(silo.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress);
        var jobs = new JobTable(_database);
        var id = await jobs.InsertAsync("image_generation", Payload);

        var foreign = silo.Grains.GetGrain<IDispatcherGrain>(ForeignSilo);
        await foreign.WakeAsync();
        var status = await foreign.GetStatusAsync();

        Assert.Equal(local, status.RunsOn);
        Assert.False(status.Claiming);
        Assert.Empty(status.InFlight);
        var job = await jobs.GetAsync(id);
        Assert.Equal("pending", job.Status);
        Assert.Null(job.LockedBy);

        await silo.Grains.GetGrain<IDispatcherGrain>(local).WakeAsync();
        var done = await jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(60));

        Assert.Equal("completed", done.Status);
        Assert.DoesNotContain(await jobs.EventsAsync(id), e => e.Worker == ForeignSilo);
        Assert.Contains(await jobs.EventsAsync(id), e => e.To == "processing" && e.Worker == local);
    }
}
