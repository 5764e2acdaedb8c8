using System.Collections.Immutable;
using System.Net;
using System.Threading.Channels;
using GenerationWorker.Grains.Assets;
using GenerationWorker.Grains.Configuration;
using GenerationWorker.Grains.Cost;
using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Postgres;
using GenerationWorker.Grains.Quota;
using GenerationWorker.Grains.Rescue;
using GenerationWorker.Grains.Telemetry;
using GenerationWorker.Interfaces;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Orleans.Runtime;

namespace GenerationWorker.Grains.Tests.Rescue;

/// <summary>
/// The rescuer against a real, migrated database, with membership played by the test and the cadence on fake time:
/// the claims of a dead silo go back at its death (attempt refunded when it drained first), expired leases at the
/// cadence, and a dead silo's rescue that failed is tried again at the next tick. The budget is off (no quota grain).
/// </summary>
public sealed class RescuerTests : IAsyncLifetime
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly SiloAddress Dead = SiloAddress.New(new IPEndPoint(IPAddress.Parse("10.9.0.1"), 11111), 1);
    private static readonly SiloAddress Live = SiloAddress.New(new IPEndPoint(IPAddress.Parse("10.9.0.2"), 11111), 1);

    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly Membership _membership = new();
    private readonly Dispatcher _dispatcher = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly ServiceProvider _metrics = new ServiceCollection().AddMetrics().AddSingleton<WorkerTelemetry>().BuildServiceProvider();
    private MigratedDatabase _database = null!;
    private Task _run = Task.CompletedTask;

    public async Task InitializeAsync()
    {
        _database = await MigratedDatabase.CreateAsync("rescuer");
        var source = _database.DataSource;
        var costs = new CostLedger(
            new CostStore(source, new AppTables(new AppAssetStore(source), TimeProvider.System, NullLogger<AppTables>.Instance)),
            Options.Create(new GeminiOptions()), new LocalSilo(Live), _time, _metrics.GetRequiredService<WorkerTelemetry>(),
            NullLogger<CostLedger>.Instance);

        // The budget is off: the rescuer never asks the quota grain, so it needs no grain references.
        var rescuer = new Rescuer(
            _membership, new JobStore(source), costs, null!, Options.Create(new WorkerOptions { LeaseDuration = Lease }),
            Options.Create(new QuotaOptions()), _time, _metrics.GetRequiredService<WorkerTelemetry>(), NullLogger<Rescuer>.Instance);

        // Started here, not on the thread pool: its first delay exists on the fake clock before a test advances it.
        _run = rescuer.RunAsync(_dispatcher, _stop.Token);
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        await _run.WaitAsync(Timeout);
        await _metrics.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task ADeadSilosClaims_GoBackAtItsDeath_ItsOpenRequestsSettled_AndOtherSilosClaimsKept()
    {
        var dead = await ClaimAsync(Dead, attempts: 1);
        var live = await ClaimAsync(Live, attempts: 1);
        var request = await OpenRequestAsync(dead, Dead);

        _membership.Publish((Dead, SiloStatus.Dead), (Live, SiloStatus.Active));
        await _dispatcher.WokenAsync();

        var rescued = await _database.Jobs.GetAsync(dead);
        Assert.Equal("pending", rescued.Status);
        Assert.Equal(1, rescued.Attempts);
        Assert.StartsWith($"worker lost: silo {SiloIdentity.Of(Dead)} died", rescued.Error);
        Assert.Equal("processing", (await _database.Jobs.GetAsync(live)).Status);
        Assert.Equal("possibly_billed", await _database.Jobs.ScalarAsync<string>(
            "SELECT state FROM gemini_cost_ledger WHERE request_id = @id", ("id", request)));
    }

    [Fact]
    public async Task ASiloSeenShuttingDownBeforeItsDeath_GetsItsClaimsBack_WithTheirAttemptRefunded()
    {
        var job = await ClaimAsync(Dead, attempts: 2);

        _membership.Publish((Dead, SiloStatus.ShuttingDown), (Live, SiloStatus.Active));
        _membership.Publish((Dead, SiloStatus.Dead), (Live, SiloStatus.Active));
        await _dispatcher.WokenAsync();

        var rescued = await _database.Jobs.GetAsync(job);
        Assert.Equal("pending", rescued.Status);
        Assert.Equal(1, rescued.Attempts);
        Assert.StartsWith($"worker stopped: silo {SiloIdentity.Of(Dead)} shut down", rescued.Error);
    }

    [Fact]
    public async Task AnExpiredLease_GoesBackWhenTheCadenceComes()
    {
        var job = await ClaimAsync(Live, attempts: 1, expired: true);

        _time.Advance(Lease / 2);

        var rescued = await _database.Jobs.WaitForAsync(job, j => j.Status == "pending", Timeout);
        Assert.StartsWith($"worker lost: lease expired while held by {SiloIdentity.Of(Live)}", rescued.Error);
    }

    [Fact]
    public async Task ADeadSilosRescueThatFailed_IsTriedAgainAtTheNextTick_WithoutAnotherMembershipChange()
    {
        _dispatcher.FailNextWake();
        _membership.Publish((Dead, SiloStatus.Dead), (Live, SiloStatus.Active));
        await _dispatcher.WokenAsync();

        // A claim of the dead silo the failed rescue did not put back.
        var late = await ClaimAsync(Dead, attempts: 1);
        _time.Advance(Lease / 2);
        await _dispatcher.WokenAsync();

        Assert.Equal("pending", (await _database.Jobs.GetAsync(late)).Status);
    }

    /// <summary>A job claimed by <paramref name="owner"/>: its lease runs on (or expired a second ago).</summary>
    private async Task<string> ClaimAsync(SiloAddress owner, int attempts, bool expired = false)
    {
        var id = await _database.Jobs.InsertAsync("image_generation", new { prompt = "p" });
        await _database.Jobs.ExecuteAsync(
            """
            UPDATE generation_job
            SET status = 'processing', attempts = @attempts, locked_by = @owner, locked_at = now(), started_at = now(),
                lease_token = gen_random_uuid(),
                lease_expires_at = CASE WHEN @expired THEN now() - interval '1 second' ELSE now() + interval '1 hour' END
            WHERE id = @id
            """,
            ("id", id), ("attempts", attempts), ("owner", SiloIdentity.Of(owner)), ("expired", expired));
        return id;
    }

    /// <summary>A Gemini request <paramref name="owner"/> sent for <paramref name="job"/> and never saw answered.</summary>
    private async Task<Guid> OpenRequestAsync(string job, SiloAddress owner)
    {
        var id = Guid.CreateVersion7();
        await _database.Jobs.ExecuteAsync(
            """
            INSERT INTO gemini_cost_ledger (request_id, job_id, client_id, attempt, call, operation_type, model, owner, expected_micros)
            VALUES (@id, @job, 'client-1', 1, 'generate', 'image_generation', 'gemini-2.5-flash-image', @owner, 39000)
            """,
            ("id", id), ("job", job), ("owner", SiloIdentity.Of(owner)));
        return id;
    }

    /// <summary>Membership as the test declares it, one snapshot at a time.</summary>
    private sealed class Membership : IClusterMembershipService
    {
        private readonly Channel<ClusterMembershipSnapshot> _updates = Channel.CreateUnbounded<ClusterMembershipSnapshot>();
        private long _version;

        public ClusterMembershipSnapshot CurrentSnapshot { get; private set; } =
            new(ImmutableDictionary<SiloAddress, ClusterMember>.Empty, MembershipVersion.MinValue);

        public IAsyncEnumerable<ClusterMembershipSnapshot> MembershipUpdates => _updates.Reader.ReadAllAsync();

        public void Publish(params (SiloAddress Silo, SiloStatus Status)[] members)
        {
            CurrentSnapshot = new ClusterMembershipSnapshot(
                members.ToImmutableDictionary(m => m.Silo, m => new ClusterMember(m.Silo, m.Status, m.Silo.ToString())),
                new MembershipVersion(++_version));
            _updates.Writer.TryWrite(CurrentSnapshot);
        }

        public ValueTask Refresh(MembershipVersion minimumVersion = default, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public Task<bool> TryKill(SiloAddress siloAddress) => Task.FromResult(false);
    }

    /// <summary>The silo's dispatcher: counts its wake-ups, and can fail one.</summary>
    private sealed class Dispatcher : IDispatcherGrain
    {
        private readonly Channel<bool> _woken = Channel.CreateUnbounded<bool>();
        private bool _failNext;

        public void FailNextWake() => _failNext = true;

        public Task WokenAsync() => _woken.Reader.ReadAsync().AsTask().WaitAsync(Timeout);

        public Task WakeAsync()
        {
            _woken.Writer.TryWrite(true);
            if (_failNext)
            {
                _failNext = false;
                throw new TimeoutException("the dispatcher did not answer");
            }

            return Task.CompletedTask;
        }

        public Task JobFinishedAsync(string jobId) => Task.CompletedTask;

        public Task ModelPausedAsync(string model, TimeSpan pause) => Task.CompletedTask;

        public Task CancelJobAsync(string jobId) => Task.CompletedTask;

        public Task ReportFatalAsync(string reason, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task ServiceStoppedAsync(ServiceStop stop) => Task.CompletedTask;

        public Task StopClaimingAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task StopJobsAsync(JobStopReason reason, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task<DispatcherStatus> GetStatusAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }

    private sealed class LocalSilo(SiloAddress address) : ILocalSiloDetails
    {
        public string Name => "test";

        public string ClusterId => "test";

        public string DnsHostName => "localhost";

        public SiloAddress SiloAddress => address;

        public SiloAddress GatewayAddress => address;
    }
}
