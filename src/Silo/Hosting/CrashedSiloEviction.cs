using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace GenerationWorker.Silo.Hosting;

/// <summary>What a member's silo port did when this silo connected to it.</summary>
public enum PortAnswer
{
    /// <summary>The connection was accepted: a process listens there, however slow it may be.</summary>
    Accepted,

    /// <summary>The host answered that nothing listens on the port: the silo process has exited.</summary>
    Refused,

    /// <summary>No answer within the probe timeout (or no route to the host): dead, or out of this silo's reach.</summary>
    None,
}

/// <summary>What a joining silo concludes about an active member from its port's answer and its last heartbeat.</summary>
/// <param name="Dead">Declare it dead now.</param>
/// <param name="CheckAgainAt">
/// When it says nothing yet (it does not answer but its heartbeat is recent): the instant from which its heartbeat is
/// overdue; null when it is alive or dead.
/// </param>
public readonly record struct MemberVerdict(bool Dead, DateTime? CheckAgainAt)
{
    /// <summary>Its port accepted the connection: Orleans' own probes decide about it.</summary>
    public static readonly MemberVerdict Alive = new(false, null);

    /// <summary>Its process is gone: declare it dead.</summary>
    public static readonly MemberVerdict Gone = new(true, null);

    /// <summary>
    /// Judges a member whose port gave <paramref name="answer"/> and whose last heartbeat (or start, if later) is
    /// <paramref name="lastHeartbeat"/>, at <paramref name="now"/> (UTC), heartbeats being written every
    /// <paramref name="heartbeatPeriod"/>.
    /// </summary>
    public static MemberVerdict Judge(PortAnswer answer, DateTime lastHeartbeat, DateTime now, TimeSpan heartbeatPeriod) => answer switch
    {
        PortAnswer.Accepted => Alive,
        PortAnswer.Refused => Gone,
        _ when now - lastHeartbeat > SilentLimit(heartbeatPeriod) => Gone,
        _ => new MemberVerdict(false, lastHeartbeat + SilentLimit(heartbeatPeriod)),
    };

    /// <summary>
    /// How old a silent member's heartbeat must be: two periods, so that one heartbeat written late (a busy host, clock
    /// skew between hosts) never makes a live silo cut off from the newcomer look dead.
    /// </summary>
    public static TimeSpan SilentLimit(TimeSpan heartbeatPeriod) => heartbeatPeriod * 2;
}

/// <summary>
/// While this silo joins the cluster, declares dead the active members whose silo process is gone, so that the
/// successor of a crashed lone silo does not wait for Orleans to find the crashed silo's row stale.
/// </summary>
/// <remarks>
/// <para>
/// A joining silo pings every active member before it becomes active, and votes only against members whose heartbeat
/// is <see cref="ClusterMembershipOptions.NumMissedTableIAmAliveLimit"/> periods old. When a lone silo is killed nobody
/// declares it dead, so its successor waited until then: 30 s after the last heartbeat, 20-33 s after the kill.
/// </para>
/// <para>
/// Here each active member's silo port is connected to (within <see cref="ClusterMembershipOptions.ProbeTimeout"/>).
/// A port that refuses the connection means the host is up and nothing listens there: the silo process has exited,
/// and it is declared dead at once. A port that does not answer is declared dead only once the member's heartbeat is
/// more than two <see cref="ClusterMembershipOptions.IAmAliveTablePublishTimeout"/> old (Orleans itself waits for
/// three): a newcomer cut off from a live silo must not remove it while it still writes heartbeats. A port that accepts is left to Orleans' own probes,
/// however late the member's heartbeat: a live but slow silo is never removed here.
/// </para>
/// <para>
/// The declaration is Orleans' own (<see cref="IClusterMembershipService.TryKill"/>: a conditional update of the row
/// and of the table version), awaited (at most two probe timeouts) until this silo's view shows it, so that the
/// connectivity check that follows does not ping the dead silo. It runs only while this silo joins: one table read and
/// one connection per active member for a silo that joins a healthy cluster, one more read per heartbeat period while
/// a member stays silent but heartbeats, nothing once the silo is active (the idle load is unchanged).
/// </para>
/// </remarks>
public sealed partial class CrashedSiloEviction(
    IMembershipTable table,
    IClusterMembershipService membership,
    ILocalSiloDetails localSilo,
    ISiloStatusOracle status,
    IOptions<ClusterMembershipOptions> options,
    TimeProvider time,
    ILogger<CrashedSiloEviction> logger) : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _recheck = Task.CompletedTask;

    /// <inheritdoc />
    public void Participate(ISiloLifecycle lifecycle)
    {
        // Right after this silo's row says Joining (the table was first read), before the connectivity check, which
        // then finds the crashed members already dead. Members still to be decided later are checked in the background.
        lifecycle.Subscribe(
            nameof(CrashedSiloEviction),
            ServiceLifecycleStage.AfterRuntimeGrainServices + 1,
            async _ =>
            {
                if (await PassAsync(_stopping.Token) is { } wakeAt)
                {
                    _recheck = Task.Run(() => RecheckAsync(wakeAt, _stopping.Token));
                }
            },
            async _ =>
            {
                await _stopping.CancelAsync();
                await _recheck;
            });
    }

    /// <inheritdoc />
    public void Dispose() => _stopping.Dispose();

    private async Task RecheckAsync(DateTime wakeAt, CancellationToken cancellationToken)
    {
        var probeTimeout = options.Value.ProbeTimeout;
        DateTime? next = wakeAt;
        while (next is { } at && status.CurrentStatus is SiloStatus.Created or SiloStatus.Joining)
        {
            var wait = at - time.GetUtcNow().UtcDateTime;
            try
            {
                await Task.Delay(wait > probeTimeout ? wait : probeTimeout, time, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            next = await PassAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Reads the table, probes every other active member and declares dead those that are gone (waiting, briefly,
    /// until this silo's view shows them dead). Returns when to look again, or null when nothing is left to decide.
    /// </summary>
    private async Task<DateTime?> PassAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        try
        {
            var rows = await table.ReadAllAsync(cancellationToken);
            var now = time.GetUtcNow().UtcDateTime;
            var members = rows.Members.Select(m => m.Item1)
                .Where(m => m.Status == SiloStatus.Active && !m.SiloAddress.Endpoint.Equals(localSilo.SiloAddress.Endpoint))
                .ToList();
            var answers = await Task.WhenAll(members.Select(m => ProbeAsync(m.SiloAddress.Endpoint, settings.ProbeTimeout, cancellationToken)));
            DateTime? next = null;
            var declared = new List<SiloAddress>();
            for (var i = 0; i < members.Count; i++)
            {
                var member = members[i];
                var lastHeartbeat = member.IAmAliveTime > member.StartTime ? member.IAmAliveTime : member.StartTime;
                var verdict = MemberVerdict.Judge(answers[i], lastHeartbeat, now, settings.IAmAliveTablePublishTimeout);
                if (verdict.Dead)
                {
                    LogDeclaringDead(logger, member.SiloAddress, answers[i], lastHeartbeat);
                    await membership.TryKill(member.SiloAddress);
                    declared.Add(member.SiloAddress);
                }
                else if (verdict.CheckAgainAt is { } at)
                {
                    LogSilentButHeartbeating(logger, member.SiloAddress, lastHeartbeat, at);
                    next = Earliest(next, at);
                }
            }

            if (declared.Count > 0 && !await SeenDeadAsync(declared, settings.ProbeTimeout * 2, cancellationToken))
            {
                // A concurrent write to the table won: read it again soon.
                next = Earliest(next, now);
            }

            return next;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        catch (Exception exception)
        {
            // Orleans' own staleness rule still applies: the join is only slower.
            LogSweepFailed(logger, exception);
            return null;
        }
    }

    /// <summary>Waits, at most <paramref name="limit"/>, until this silo's membership view shows every one of <paramref name="silos"/> dead.</summary>
    private async Task<bool> SeenDeadAsync(List<SiloAddress> silos, TimeSpan limit, CancellationToken cancellationToken)
    {
        using var expiry = new CancellationTokenSource(limit, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, expiry.Token);
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(linked.Token))
            {
                if (silos.TrueForAll(s => snapshot.GetSiloStatus(s) == SiloStatus.Dead))
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
        }

        return false;
    }

    private static DateTime Earliest(DateTime? current, DateTime candidate) =>
        current is { } c && c < candidate ? c : candidate;

    private async Task<PortAnswer> ProbeAsync(IPEndPoint endpoint, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var expiry = new CancellationTokenSource(timeout, time);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, expiry.Token);
        try
        {
            await socket.ConnectAsync(endpoint, limit.Token);
            return PortAnswer.Accepted;
        }
        catch (SocketException exception) when (exception.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return PortAnswer.Refused;
        }
        catch (SocketException)
        {
            return PortAnswer.None;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return PortAnswer.None;
        }
    }
}
