using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using GenerationWorker.TestSupport;
using Xunit.Abstractions;

namespace GenerationWorker.Silo.Tests.Hosting;

/// <summary>Two silo processes of one cluster: A for the whole class, B joined to it.</summary>
public sealed class TwoSiloFixture : SiloProcessFixture
{
    /// <summary>The silo that lives for the whole class.</summary>
    public SiloProcess A { get; private set; } = null!;

    /// <summary>The second silo, never stopped by a test.</summary>
    public SiloProcess B { get; private set; } = null!;

    /// <inheritdoc />
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        // A first: it applies the schema alone; then B joins a cluster that exists.
        A = await StartSiloAsync();
        B = await StartSiloAsync();
    }
}

/// <summary>Real silo processes clustered through Postgres: membership, cross-silo calls, kill -9 and SIGTERM.</summary>
[Collection(SiloProcessCollection.Name)]
public sealed class ClusterProcessTests(TwoSiloFixture fixture, ITestOutputHelper output) : IClassFixture<TwoSiloFixture>
{
    private const int Active = 3;
    private const int Dead = 6;
    private static readonly TimeSpan FailoverLimit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task BothSilos_AreHealthyAndActive_AndACallThroughAReachesTheDispatcherOnB()
    {
        foreach (var silo in new[] { fixture.A, fixture.B })
        {
            using var response = await silo.Http.GetAsync("health");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("""{"status":"healthy","worker":"running"}""", await response.Content.ReadAsStringAsync());
            Assert.Equal(Active, await fixture.MembershipStatusAsync(silo));
        }

        // A's membership view may lag B's join by a table refresh.
        IReadOnlyList<ClusterMember> members = [];
        await Eventually.UntilAsync(
            async () => (members = await ClusterAsync(fixture.A)).Count == 2,
            FailoverLimit,
            "A's /cluster lists both silos",
            lastObserved: () => "A's /cluster lists " + string.Join(", ", members));

        var a = Assert.Single(members, m => IsSilo(m.Silo, fixture.A));
        var b = Assert.Single(members, m => IsSilo(m.Silo, fixture.B));
        Assert.Equal(a.Silo, a.DispatcherRunsOn);
        Assert.Equal(b.Silo, b.DispatcherRunsOn);
        Assert.True(a.Claiming && b.Claiming);
    }

    [Fact]
    public async Task KilledSilo_IsDeclaredDeadWithinSeconds_WhileTheOtherStaysHealthy()
    {
        await using var victim = await fixture.StartSiloAsync();
        await WaitUntilListedAsync(fixture.A, victim);
        using var watching = new CancellationTokenSource();
        var watch = WatchHealthAsync(fixture.A, watching.Token);

        await victim.KillAsync();
        // Both watched from the kill on: /cluster calls every member's dispatcher, so it also calls the dead one.
        var deadRowTask = Measure(() => Eventually.UntilAsync(
            async () => await fixture.MembershipStatusAsync(victim) == Dead,
            FailoverLimit,
            "the killed silo's row is Dead",
            lastObserved: () => fixture.A.Describe("the killed silo's row is not Dead")));
        var unlistedTask = Measure(() => Eventually.UntilAsync(
            async () => await TryClusterAsync(fixture.A) is { } members && !members.Any(m => IsSilo(m.Silo, victim)),
            FailoverLimit,
            "A's /cluster drops the killed silo",
            lastObserved: () => fixture.A.Describe("A's /cluster still lists the killed silo")));
        var deadRow = await deadRowTask;
        var unlisted = await unlistedTask;
        await watching.CancelAsync();
        var (probes, failures) = await watch;

        output.WriteLine($"kill -9 -> membership row Dead (6): {deadRow.TotalSeconds:0.00} s");
        output.WriteLine($"kill -9 -> A's /cluster no longer lists it: {unlisted.TotalSeconds:0.00} s");
        output.WriteLine($"A's /health meanwhile: {probes} probes, {failures.Count} not 200");
        output.WriteLine("inert activations on A of the killed silo's dispatcher: "
            + Regex.Count(fixture.A.Output, $@"dispatcher of 127\.0\.0\.1:{victim.SiloPort}@\d+ reached silo"));
        Assert.True(failures.Count == 0, fixture.A.Describe("A's /health failed: " + string.Join("; ", failures)));
        Assert.True(probes > 0);
        Assert.Equal(Active, await fixture.MembershipStatusAsync(fixture.A));
        // A call to the dead silo's dispatcher must not have started a second one, under the dead silo's name, on A.
        Assert.DoesNotMatch($@"Dispatcher 127\.0\.0\.1:{victim.SiloPort}@\d+ claims", fixture.A.Output);
        using var health = await fixture.A.Http.GetAsync("health");
        Assert.Equal("""{"status":"healthy","worker":"running"}""", await health.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Sigterm_LeavesTheRowDead_AndExitsZeroWithinTheShutdownTimeout()
    {
        await using var leaving = await fixture.StartSiloAsync();
        await WaitUntilListedAsync(fixture.A, leaving);
        // The host gives the drain SHUTDOWN_TIMEOUT_SECONDS and Orleans 30 s more (SiloHostingExtensions).
        var shutdownTimeout = TimeSpan.FromSeconds(double.Parse(leaving.Environment["SHUTDOWN_TIMEOUT_SECONDS"]!) + 30);

        var sinceTerm = Stopwatch.StartNew();
        var exitCode = await leaving.StopAsync(shutdownTimeout);
        var exited = sinceTerm.Elapsed;

        output.WriteLine($"SIGTERM -> exit {exitCode}: {exited.TotalSeconds:0.00} s");
        Assert.True(exitCode == 0, leaving.Describe($"exit code {exitCode}"));
        Assert.Equal(Dead, await fixture.MembershipStatusAsync(leaving));
        Assert.Contains("Draining", leaving.Output, StringComparison.Ordinal);
        await Eventually.UntilAsync(
            async () => await TryClusterAsync(fixture.A) is { } members && !members.Any(m => IsSilo(m.Silo, leaving)),
            FailoverLimit,
            "A's /cluster drops the stopped silo",
            lastObserved: () => fixture.A.Describe("A's /cluster still lists the stopped silo"));
    }

    private static async Task<TimeSpan> Measure(Func<Task> wait)
    {
        var stopwatch = Stopwatch.StartNew();
        await wait();
        return stopwatch.Elapsed;
    }

    private static bool IsSilo(string identity, SiloProcess silo) =>
        identity.StartsWith($"127.0.0.1:{silo.SiloPort}@", StringComparison.Ordinal);

    private static async Task WaitUntilListedAsync(SiloProcess observer, SiloProcess silo) =>
        await Eventually.UntilAsync(
            async () => await TryClusterAsync(observer) is { } members && members.Any(m => IsSilo(m.Silo, silo) && m.DispatcherRunsOn == m.Silo),
            FailoverLimit,
            $"/cluster lists the silo on port {silo.SiloPort}",
            lastObserved: () => observer.Describe($"/cluster does not list the silo on port {silo.SiloPort}"));

    private static async Task<IReadOnlyList<ClusterMember>> ClusterAsync(SiloProcess silo) =>
        await TryClusterAsync(silo) ?? throw new InvalidOperationException(silo.Describe("/cluster failed"));

    /// <summary>The members /cluster lists, or null when it does not answer 200.</summary>
    private static async Task<IReadOnlyList<ClusterMember>?> TryClusterAsync(SiloProcess silo)
    {
        try
        {
            using var response = await silo.Operator.GetAsync("cluster");
            if (!response.IsSuccessStatusCode)
            {
                return null;
            }

            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return json.RootElement.GetProperty("members").EnumerateArray()
                .Select(m => new ClusterMember(
                    m.GetProperty("silo").GetString()!,
                    m.GetProperty("dispatcherRunsOn").GetString()!,
                    m.GetProperty("claiming").GetBoolean()))
                .ToList();
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>Probes /health until cancelled; returns the number of probes and every answer that was not 200.</summary>
    private static async Task<(int Probes, List<string> Failures)> WatchHealthAsync(SiloProcess silo, CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        var probes = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                using var response = await silo.Http.GetAsync("health", CancellationToken.None);
                probes++;
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    failures.Add($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(CancellationToken.None)}");
                }

                await Task.Delay(100, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
            {
                probes++;
                failures.Add(exception.Message);
            }
        }

        return (probes, failures);
    }

    private sealed record ClusterMember(string Silo, string DispatcherRunsOn, bool Claiming);
}
