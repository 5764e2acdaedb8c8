using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using GenerationWorker.Silo.Operators;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace GenerationWorker.Silo.Tests.Operators;

/// <summary>The operator page at /dashboard/jobs and the backlog gauge, on a silo with a backlog, a paused budget and a failure.</summary>
[Collection(OtlpExporterCollection.Name)]
public sealed partial class JobsPageTests(JobsPageFixture fixture) : IClassFixture<JobsPageFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private string PageUrl(bool withCredentials) =>
        $"http://{(withCredentials ? $"{WorkerSilo.OperatorUsername}:{WorkerSilo.OperatorPassword}@" : "")}{fixture.Silo.HttpBase.Authority}{JobsPageEndpoints.Path}";

    [Fact]
    public async Task InChromium_ThePageShowsTheBacklogThePausedBudgetAndTheFailure()
    {
        var backlog = JobsPageFixture.Backlog.Sum(b => b.Jobs) + 1;
        // Jobs refused by the paused budget are put back: wait until the page shows all of them pending again.
        // Each look starts a browser, so the looks follow one another without a pause.
        var dom = await Eventually.ValueAsync(
            () => HeadlessChromium.DumpDomAsync(PageUrl(withCredentials: true)),
            page => page.Contains($"data-figure=\"pending\">{backlog}<", StringComparison.Ordinal)
                    && page.Contains("data-figure=\"processing\">0<", StringComparison.Ordinal),
            Deadline,
            "the page shows the backlog",
            TimeSpan.Zero);

        Assert.Contains("<h1>Generation jobs</h1>", dom, StringComparison.Ordinal);
        Assert.Contains("http-equiv=\"refresh\"", dom, StringComparison.Ordinal);
        Assert.Matches(PausedCell(), dom);

        // A row per model and limit (the 429 named the default model), and the clients' shares of the last window.
        Assert.Matches("""<tr data-budget="gemini-2\.5-flash-image \d+/\d+s">""", Table(dom, "budgets"));
        Assert.Contains("<th>share</th>", Table(dom, "shares"), StringComparison.Ordinal);
        Assert.Contains($"{backlog} due jobs wait for it", dom, StringComparison.Ordinal);
        Assert.Contains("data-figure=\"failed-last-hour\">1<", dom, StringComparison.Ordinal);
        var failures = Table(dom, "failures");
        Assert.Contains(fixture.FailedJobId, failures, StringComparison.Ordinal);
        Assert.Contains("initech", failures, StringComparison.Ordinal);
        Assert.Contains("IMAGE_SAFETY", failures, StringComparison.Ordinal);
        var clients = Table(dom, "by-client");
        Assert.Contains("<td>acme</td><td class=\"n\" data-figure=\"pending\">13</td>", clients, StringComparison.Ordinal);
        Assert.Contains("<td>globex</td><td class=\"n\" data-figure=\"pending\">5</td>", clients, StringComparison.Ordinal);
        // The HTML client id is text in the DOM, not markup.
        Assert.Contains("<td>&lt;b&gt;bold &amp; co&lt;/b&gt;</td><td class=\"n\" data-figure=\"pending\">8</td>", clients, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>bold", dom, StringComparison.Ordinal);
        Assert.Contains("<td>10</td><td class=\"n\" data-figure=\"pending\">12</td>", Table(dom, "by-priority"), StringComparison.Ordinal);
        Assert.Contains("data-figure=\"in-flight\">0<", Table(dom, "silos"), StringComparison.Ordinal);

        await HeadlessChromium.ScreenshotAsync(PageUrl(withCredentials: true), Path.Combine(RepoPaths.Root, ".local", "jobs-page.png"));
    }

    [Fact]
    public async Task WithoutCredentials_Is401_AndChromiumShowsNoFigure()
    {
        using var http = new HttpClient { BaseAddress = fixture.Silo.HttpBase };
        using var anonymous = await http.GetAsync(JobsPageEndpoints.Path.TrimStart('/'));
        using var wrong = new HttpRequestMessage(HttpMethod.Get, JobsPageEndpoints.Path.TrimStart('/'));
        wrong.Headers.Authorization = WorkerSilo.OperatorAuthorization(password: "not the password");
        using var refused = await http.SendAsync(wrong);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("Basic", Assert.Single(anonymous.Headers.WwwAuthenticate).Scheme);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        var dom = await HeadlessChromium.DumpDomAsync(PageUrl(withCredentials: false));
        Assert.DoesNotContain("Generation jobs", dom, StringComparison.Ordinal);
        Assert.DoesNotContain("data-figure", dom, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ManyConcurrentViewers_ShareOneDatabaseRead_PerSecond()
    {
        var store = new JobsOverviewStore(fixture.Database.DataSource);
        var time = new FakeTimeProvider();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reads = 0;
        var shared = new SharedRead<JobsOverview>(async () =>
        {
            Interlocked.Increment(ref reads);
            await gate.Task;
            return await store.ReadAsync(CancellationToken.None);
        }, JobsPageReader.Freshness, time);

        var asked = 0;
        var viewers = Enumerable.Range(0, 100).Select(_ => Task.Run(() =>
        {
            var page = shared.GetAsync();
            Interlocked.Increment(ref asked);
            return page;
        })).ToList();
        await Eventually.UntilAsync(() => Volatile.Read(ref asked) == viewers.Count, Deadline, "every viewer asks", TimeSpan.FromMilliseconds(10));

        // Every viewer asked while the one read was still running.
        gate.SetResult();
        var pages = await Task.WhenAll(viewers);

        Assert.Equal(1, reads);
        Assert.All(pages, page => Assert.Same(pages[0], page));
        Assert.True(pages[0].Counts.Pending > 0);
        time.Advance(JobsPageReader.Freshness - TimeSpan.FromMilliseconds(1));
        Assert.Same(pages[0], await shared.GetAsync());
        Assert.Equal(1, reads);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.NotSame(pages[0], await shared.GetAsync());
        Assert.Equal(2, reads);
    }

    [Fact]
    public async Task ManyConcurrentRequests_ToThePage_ReadTheDatabaseAtMostOncePerSecond()
    {
        var pageReads = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.GetTagItem("db.query.text") is string text && text.Contains("completed_last_minute", StringComparison.Ordinal))
                {
                    pageReads.Enqueue(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        // A read another test made less than a second ago would serve this burst: let it go stale (time is the subject).
        await Task.Delay(JobsPageReader.Freshness);
        using var http = new HttpClient { BaseAddress = fixture.Silo.HttpBase };
        http.DefaultRequestHeaders.Authorization = WorkerSilo.OperatorAuthorization();

        var elapsed = Stopwatch.StartNew();
        var statuses = await Task.WhenAll(Enumerable.Range(0, 50).Select(async _ =>
        {
            using var response = await http.GetAsync(JobsPageEndpoints.Path.TrimStart('/'));
            return response.StatusCode;
        }));
        elapsed.Stop();

        Assert.All(statuses, status => Assert.Equal(HttpStatusCode.OK, status));
        Assert.InRange(pageReads.Count, 1, 1 + (int)elapsed.Elapsed.TotalSeconds);
    }

    [Fact]
    public async Task TheBacklogGauge_IsExportedOverOtlp_WithTheTablesFigures()
    {
        var (_, exported) = await Eventually.ValueAsync(
            async () => (Expected: await BacklogInTableAsync(), Exported: LatestBacklogExport()),
            seen => seen.Exported is not null && seen.Expected.Count > 0
                    && seen.Expected.OrderBy(e => e.Key).SequenceEqual(seen.Exported.OrderBy(e => e.Key)),
            Deadline,
            "the exported backlog matches the table",
            TimeSpan.FromMilliseconds(200),
            seen => $"exported {Describe(seen.Exported)}, the table holds {Describe(seen.Expected)}");

        // The backlog and the throttled job (1 variant); a claim refused by the paused budget may have routed some.
        Assert.Equal(JobsPageFixture.Backlog.Sum(b => b.Jobs) + 1, exported!.Values.Sum(v => v.Jobs));
        Assert.Equal(JobsPageFixture.Backlog.Sum(b => b.Jobs * b.Variants) + 1, exported.Values.Sum(v => v.Requests));
    }

    /// <summary>Pending jobs and their variants by model, read from the rows themselves.</summary>
    private async Task<Dictionary<string, (long Jobs, long Requests)>> BacklogInTableAsync()
    {
        await using var command = fixture.Database.DataSource.CreateCommand(
            "SELECT model, payload -> 'settings' ->> 'numberOfVariants' FROM generation_job WHERE status = 'pending'");
        await using var reader = await command.ExecuteReaderAsync();
        var backlog = new Dictionary<string, (long Jobs, long Requests)>(StringComparer.Ordinal);
        while (await reader.ReadAsync())
        {
            var model = reader.IsDBNull(0) ? BacklogGauge.Unrouted : reader.GetString(0);
            var variants = reader.IsDBNull(1) ? 1 : int.Parse(reader.GetString(1), System.Globalization.CultureInfo.InvariantCulture);
            var (jobs, requests) = backlog.GetValueOrDefault(model);
            backlog[model] = (jobs + 1, requests + variants);
        }

        return backlog;
    }

    /// <summary>The backlog gauges of the latest metrics export that carried them, by model.</summary>
    private Dictionary<string, (long Jobs, long Requests)>? LatestBacklogExport()
    {
        foreach (var body in fixture.Otlp.Bodies("/v1/metrics").Reverse())
        {
            var all = OtlpGauges.Read(body).Where(p => p.Metric.StartsWith("generation_worker.backlog.", StringComparison.Ordinal)).ToList();
            var points = all.Where(p => p.Metric is "generation_worker.backlog.jobs" or "generation_worker.backlog.requests").ToList();
            if (points.Count > 0)
            {
                // By client too (fair share): the same requests, split by client.
                Assert.Equal(
                    points.Where(p => p.Metric == "generation_worker.backlog.requests").Sum(p => p.Value),
                    all.Where(p => p.Metric == "generation_worker.backlog.client_requests").Sum(p => p.Value));
                return points.GroupBy(p => p.Attributes["model"]).ToDictionary(
                    g => g.Key,
                    g => ((long)g.Single(p => p.Metric == "generation_worker.backlog.jobs").Value,
                          (long)g.Single(p => p.Metric == "generation_worker.backlog.requests").Value));
            }
        }

        return null;
    }

    private static string Describe(Dictionary<string, (long Jobs, long Requests)>? backlog) =>
        backlog is null ? "nothing" : string.Join(", ", backlog.Select(b => $"{b.Key}: {b.Value.Jobs} jobs, {b.Value.Requests} requests"));

    private static string Table(string dom, string id)
    {
        var start = dom.IndexOf($"<table id=\"{id}\"", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no table {id} in the page");
        return dom[start..dom.IndexOf("</table>", start, StringComparison.Ordinal)];
    }

    [GeneratedRegex("""class="paused" data-figure="paused">paused until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: Gemini answered 429""")]
    private static partial Regex PausedCell();
}
