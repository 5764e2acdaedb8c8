using System.Text.Json;
using GenerationWorker.GeminiEmulator;
using GenerationWorker.Grains.Dispatch;
using GenerationWorker.Grains.Tests.Reliability;
using GenerationWorker.Interfaces;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace GenerationWorker.Grains.Tests.Quota;

/// <summary>
/// Slots held ahead: an idle dispatcher holds a few persisted slots of the budget so that its next job starts without
/// waiting for a grant's write, and gives them up when the budget refuses them.
/// </summary>
public sealed class StandingBudgetTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Budget = 64;
    private const int Held = 8; // min(WORKER_CONCURRENCY, budget / 8)

    private GeminiEmulatorHandle _gemini = null!;
    private string _connectionString = "";
    private JobTable _jobs = null!;
    private WorkerSilo _silo = null!;

    public async Task InitializeAsync()
    {
        _gemini = await GeminiEmulatorServer.StartAsync(new EmulatorOptions());
        _connectionString = await PostgresServer.CreateDatabaseAsync("standing");
        _jobs = new JobTable(_connectionString);
        var env = WorkerSilo.BaseEnvironment(
            _connectionString, _gemini.BaseUrl, _gemini.ApiKey, Path.Combine(Path.GetTempPath(), "standing-" + Guid.NewGuid().ToString("N")));
        env["MAX_JOBS_PER_MINUTE"] = Budget.ToString();
        env["QUOTA_WINDOW_SECONDS"] = "60";
        env["WORKER_CONCURRENCY"] = "8";
        _silo = await WorkerSilo.StartAsync(env);
    }

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        await _gemini.DisposeAsync();
        await PostgresServer.DropDatabaseAsync(_connectionString);
    }

    [Fact]
    public async Task AnIdleSiloHoldsPersistedSlots_AndItsNextJobRequestsOnThem()
    {
        var standing = await Poll.UntilAsync(
            ReservationsAsync, r => r.Any(x => x.SiloId == SiloId && x.Pending == Held), TimeSpan.FromSeconds(15), "slots held ahead");
        var heldId = standing.Single(x => x.Pending == Held).Id;
        Assert.Equal(Held, (await Dispatcher.GetStatusAsync()).StandingSlots);
        Assert.Equal(Held, (await QuotaGrain.GetStatusAsync()).InUse);

        var job = await _jobs.WaitFinalAsync(await _jobs.InsertAsync("image_generation", new { prompt = "held ahead" }));
        Assert.Equal("completed", job.Status);

        // The request was announced on the slots held before the insert: no grant was asked for on the job's path.
        var after = await Poll.UntilAsync(
            ReservationsAsync, r => r.Sum(x => x.Sent) == 1, TimeSpan.FromSeconds(10), "the request's announcement persisted");
        output.WriteLine(string.Join("; ", after.Select(r => $"{r.Id}: pending {r.Pending}, sent {r.Sent}")));
        Assert.Equal(heldId, after.Single(x => x.Sent == 1).Id);

        // And the dispatcher holds a full set again: the rest of the old one given back, a new one granted.
        await Poll.UntilAsync(async () => (await Dispatcher.GetStatusAsync()).StandingSlots == Held, TimeSpan.FromSeconds(10), "held slots topped up");
        await Poll.UntilAsync(async () => (await QuotaGrain.GetStatusAsync()).InUse == Held + 1, TimeSpan.FromSeconds(10), "in use: the new set and the sent request");
    }

    [Fact]
    public async Task APauseRefusesTheHeldSlots_TheJobWaitsForItsEndWithoutChurning()
    {
        await Poll.UntilAsync(async () => (await Dispatcher.GetStatusAsync()).StandingSlots == Held, TimeSpan.FromSeconds(15), "slots held ahead");
        await QuotaGrain.ReportThrottledAsync(TimeSpan.FromSeconds(3), perDay: false);

        var id = await _jobs.InsertAsync("image_generation", new { prompt = "during a pause" });
        var job = await _jobs.WaitFinalAsync(id, TimeSpan.FromSeconds(30));

        Assert.Equal("completed", job.Status);
        Assert.Equal(1, job.Attempts);
        var claims = (await _jobs.EventsAsync(id)).Count(e => e.To == "processing");
        output.WriteLine($"claims of the job: {claims}");

        // One claim on the held slots (refused: the dispatcher drops them), one after the pause. Starting it again on
        // the held slots would claim it once per slot.
        Assert.InRange(claims, 1, 2);
        Assert.Equal(1, _gemini.Stats.Snapshot().Models.Values.Sum(m => m.Requests));
    }

    [Fact]
    public async Task ASlotGrantedOutsideAReservation_IsPersistedBeforeTheRequestMayGo()
    {
        // A fallback model's request, or a slow job's after its reservation expired: no persisted slot covers it.
        var reservation = Guid.NewGuid();

        Assert.True(await QuotaGrain.BeginRequestAsync(reservation));

        // Read at once, not polled: the lazy write of announcements would land up to a second later.
        Assert.Contains(await ReservationsAsync(), r => r.Id == reservation && r.Sent == 1);
    }

    private string SiloId => SiloIdentity.Of(_silo.Services.GetRequiredService<Orleans.Runtime.ILocalSiloDetails>().SiloAddress);

    private IDispatcherGrain Dispatcher => _silo.Grains.GetGrain<IDispatcherGrain>(SiloId);

    private IQuotaGrain QuotaGrain => _silo.Grains.GetGrain<IQuotaGrain>(IQuotaGrain.SingletonKey);

    /// <summary>The quota grain's reservations as persisted (its lazy writes land within a second; zeros are left out).</summary>
    private async Task<IReadOnlyList<Reservation>> ReservationsAsync()
    {
        var payload = await _jobs.ScalarAsync<byte[]?>("SELECT payload_binary FROM orleans_storage WHERE grain_type_string = 'quota'");
        if (payload is null)
        {
            return [];
        }

        using var json = JsonDocument.Parse(payload);
        return [.. Values(json.RootElement.GetProperty("Reservations")).Select(r => new Reservation(
            r.GetProperty("Id").GetGuid(), r.GetProperty("SiloId").GetString() ?? "", r.TryGetProperty("Pending", out var pending) ? pending.GetInt32() : 0,
            Values(r.GetProperty("Sent")).Count()))];
    }

    /// <summary>An array, or the <c>$values</c> of a typed collection.</summary>
    private static IEnumerable<JsonElement> Values(JsonElement element) =>
        element.ValueKind == JsonValueKind.Array ? element.EnumerateArray() : element.GetProperty("$values").EnumerateArray();

    private sealed record Reservation(Guid Id, string SiloId, int Pending, int Sent);
}
