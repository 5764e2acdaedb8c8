using System.Diagnostics;
using System.Net;
using System.Text.Json;
using GenerationWorker.TestSupport;
using Xunit.Abstractions;

namespace GenerationWorker.Silo.Tests.Health;

/// <summary>A silo process whose every database connection goes through a <see cref="TcpProxy"/>.</summary>
public sealed class ProxiedSiloFixture : SiloProcessFixture
{
    /// <summary>The forwarder between the silo and PostgreSQL.</summary>
    public TcpProxy Proxy { get; private set; } = null!;

    /// <summary>The silo's DATABASE_URL (through the proxy).</summary>
    public string ProxiedConnectionString { get; private set; } = "";

    /// <summary>The silo.</summary>
    public SiloProcess Silo { get; private set; } = null!;

    /// <inheritdoc />
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        (Proxy, ProxiedConnectionString) = TcpProxy.ForPostgres(ConnectionString);
        Silo = await StartSiloAsync(new Dictionary<string, string?> { ["DATABASE_URL"] = ProxiedConnectionString });
    }

    /// <inheritdoc />
    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Proxy.DisposeAsync();
    }
}

/// <summary><c>/health</c> and <c>/health/live</c> of a real silo process.</summary>
[Collection(SiloProcessCollection.Name)]
public sealed class HealthTests(ProxiedSiloFixture fixture, ITestOutputHelper output) : IClassFixture<ProxiedSiloFixture>
{
    private const string Healthy = """{"status":"healthy","worker":"running"}""";

    [Fact]
    public async Task DatabaseCut_MakesHealth503Unhealthy_ThenHealthyAgainWithoutRestart()
    {
        var silo = fixture.Silo;
        var pid = silo.Id;
        Assert.Equal((HttpStatusCode.OK, Healthy), await GetAsync(silo, "health"));

        await fixture.Proxy.BreakAsync();
        try
        {
            var sinceBreak = Stopwatch.StartNew();
            (HttpStatusCode Status, string Body) last = (0, "");
            await Eventually.UntilAsync(
                async () => (last = await GetAsync(silo, "health")).Status == HttpStatusCode.ServiceUnavailable,
                TimeSpan.FromSeconds(10),
                "/health 503 after the cut",
                TimeSpan.FromMilliseconds(100),
                lastObserved: () => silo.Describe($"/health still answers {last}"));
            var unhealthyAfter = sinceBreak.Elapsed;

            using (var body = JsonDocument.Parse(last.Body))
            {
                Assert.Equal("unhealthy", body.RootElement.GetProperty("status").GetString());
                // Never the driver's own text (hosts, users, statements): that goes to the log.
                Assert.Contains(
                    body.RootElement.GetProperty("error").GetString(),
                    new[] { "database: unreachable (see the log)", "database: no answer within 2 s" });
            }

            Assert.Equal(HttpStatusCode.OK, (await GetAsync(silo, "health/live")).Status);
            output.WriteLine($"database cut -> /health 503: {unhealthyAfter.TotalSeconds:0.00} s ({last.Body})");
        }
        finally
        {
            fixture.Proxy.Restore();
        }

        var sinceRestore = Stopwatch.StartNew();
        (HttpStatusCode Status, string Body) after = (0, "");
        await Eventually.UntilAsync(
            async () => (after = await GetAsync(silo, "health")).Status == HttpStatusCode.OK,
            TimeSpan.FromSeconds(30),
            "/health 200 after the restore",
            TimeSpan.FromMilliseconds(100),
            lastObserved: () => silo.Describe($"/health still answers {after}"));
        output.WriteLine($"database back -> /health 200: {sinceRestore.Elapsed.TotalSeconds:0.00} s");

        Assert.Equal(Healthy, after.Body);
        Assert.False(silo.HasExited);
        Assert.Equal(pid, silo.Id);
    }

    [Fact]
    public async Task Live_Stays200WhileTheDatabaseIsCut()
    {
        var silo = fixture.Silo;
        await fixture.Proxy.BreakAsync();
        try
        {
            // Until /health has noticed the cut, and for a while after, /health/live keeps answering 200.
            var probes = 0;
            var unhealthySeen = 0;
            await Eventually.UntilAsync(
                async () =>
                {
                    var live = await GetAsync(silo, "health/live");
                    Assert.Equal((HttpStatusCode.OK, """{"status":"alive"}"""), live);
                    probes++;
                    if ((await GetAsync(silo, "health")).Status == HttpStatusCode.ServiceUnavailable)
                    {
                        unhealthySeen++;
                    }

                    return unhealthySeen >= 5;
                },
                TimeSpan.FromSeconds(20),
                "/health 503 five times while /health/live stays 200",
                TimeSpan.FromMilliseconds(100),
                lastObserved: () => silo.Describe($"/health answered 503 only {unhealthySeen} times in {probes} probes"));
        }
        finally
        {
            fixture.Proxy.Restore();
        }

        // The next test in this class starts from a healthy silo.
        await silo.WaitHealthyAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task BeforeTheSiloIsActive_HealthIsRefusedOr503Starting_Never200OrAnError()
    {
        var silo = fixture.Launch(new Dictionary<string, string?> { ["ORLEANS_CLUSTER_ID"] = "start-" + Guid.NewGuid().ToString("N")[..8] });
        var answers = new List<string>();
        var refused = 0;
        // Every answer before the first 200 is kept: each must be a refusal or 503 starting.
        await Eventually.UntilAsync(
            async () =>
            {
                Assert.False(silo.HasExited, silo.Describe("the silo exited"));
                try
                {
                    var (status, body) = await GetAsync(silo, "health");
                    if (status == HttpStatusCode.OK)
                    {
                        Assert.Equal(Healthy, body);
                        return true;
                    }

                    answers.Add($"{(int)status} {body}");
                }
                catch (HttpRequestException)
                {
                    refused++;
                }

                return false;
            },
            TimeSpan.FromSeconds(60),
            "/health answers 200",
            TimeSpan.FromMilliseconds(20),
            () => silo.Describe($"{refused} refused connections, {answers.Count} answers"));

        output.WriteLine($"before 200: {refused} refused connections, {answers.Count} answers: {string.Join(", ", answers.Distinct())}");
        Assert.All(answers, answer => Assert.Equal("""503 {"status":"starting"}""", answer));
        await silo.DisposeAsync();
    }

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(SiloProcess silo, string path)
    {
        using var response = await silo.Http.GetAsync(path);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
