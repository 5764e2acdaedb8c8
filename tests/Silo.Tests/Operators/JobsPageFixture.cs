using GenerationWorker.Interfaces;
using GenerationWorker.Silo.Tests.Hosting;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.Configuration;

namespace GenerationWorker.Silo.Tests.Operators;

/// <summary>
/// A silo (in process, exporting OTLP to a loopback receiver) in the state an operator opens the jobs page for: one job
/// failed, the Gemini budget paused by a 429, and a backlog of 25 jobs of three clients waiting behind it.
/// </summary>
public sealed class JobsPageFixture : IAsyncLifetime
{
    /// <summary>A client id that is also HTML: the page must show it as text.</summary>
    public const string HtmlClient = "<b>bold & co</b>";

    /// <summary>The backlog: client, jobs, variants each.</summary>
    public static readonly (string Client, int Jobs, int Variants)[] Backlog = [("acme", 12, 2), (HtmlClient, 8, 3), ("globex", 5, 1)];

    private readonly GeminiEmulatorFixture _gemini = new();
    private readonly string _storage = Path.Combine(Path.GetTempPath(), "jobspage-" + Guid.NewGuid().ToString("N"));

    public MigratedDatabase Database { get; private set; } = null!;

    public OtlpReceiver Otlp { get; private set; } = null!;

    public WorkerSilo Silo { get; private set; } = null!;

    /// <summary>The job Gemini refused (IMAGE_SAFETY): failed at once.</summary>
    public string FailedJobId { get; private set; } = "";

    /// <summary>The job whose 429 paused the budget (pending again, its attempt refunded).</summary>
    public string ThrottledJobId { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Otlp = await OtlpReceiver.StartAsync();
        await _gemini.InitializeAsync();
        Database = await MigratedDatabase.CreateAsync("jobspage");
        var env = WorkerSilo.BaseEnvironment(Database.ConnectionString, _gemini.BaseUrl, _gemini.ApiKey, _storage);
        env["MAX_JOBS_PER_MINUTE"] = "600";
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = Otlp.BaseUrl.ToString();
        Silo = await WorkerSilo.StartAsync(env, configure: builder => builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = Otlp.BaseUrl.ToString(),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
        }));

        var jobs = Database.Jobs;
        FailedJobId = await jobs.InsertAsync("image_generation", new { prompt = "[emulate:IMAGE_SAFETY] a forbidden lamp" }, clientId: "initech");
        Assert.Equal("failed", (await jobs.WaitFinalAsync(FailedJobId)).Status);

        ThrottledJobId = await jobs.InsertAsync("image_generation", new { prompt = "[emulate:429-retry=3600s] a throttled lamp" }, clientId: "acme");
        var quota = Silo.Grains.GetGrain<IQuotaGrain>(IQuotaGrain.SingletonKey);
        await Eventually.UntilAsync(
            async () => (await quota.GetStatusAsync()).Models.Any(m => m.PausedUntil is not null), TimeSpan.FromSeconds(60), "the 429 pauses the budget");

        var priority = 10;
        foreach (var (client, count, variants) in Backlog)
        {
            for (var i = 0; i < count; i++)
            {
                await jobs.InsertAsync("image_generation", new { prompt = "backlog " + i, settings = new { numberOfVariants = variants } },
                    clientId: client, priority: priority);
            }

            priority += 10;
        }
    }

    public async Task DisposeAsync()
    {
        await Silo.DisposeAsync();
        await Otlp.DisposeAsync();
        await _gemini.DisposeAsync();
        await Database.DisposeAsync();
        if (Directory.Exists(_storage))
        {
            Directory.Delete(_storage, recursive: true);
        }
    }
}
