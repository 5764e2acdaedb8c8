using System.Text;
using GenerationWorker.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace GenerationWorker.Silo.Tests.Hosting;

/// <summary>An OTLP/HTTP receiver on loopback: keeps every request body it gets, by path.</summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<(string Path, byte[] Body)> _received = [];

    private OtlpReceiver(WebApplication app) => _app = app;

    public Uri BaseUrl => new(_app.Urls.First());

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/{signal}", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            lock (receiver._received)
            {
                receiver._received.Add((context.Request.Path, body.ToArray()));
            }

            context.Response.ContentType = "application/x-protobuf";
        });
        await app.StartAsync();
        return receiver;
    }

    /// <summary>True once a body posted to <paramref name="path"/> contains <paramref name="text"/> (protobuf keeps strings as UTF-8).</summary>
    public bool Saw(string path, string text)
    {
        var needle = Encoding.UTF8.GetBytes(text);
        lock (_received)
        {
            return _received.Any(r => r.Path == path && r.Body.AsSpan().IndexOf(needle) >= 0);
        }
    }

    /// <summary>The bodies posted to <paramref name="path"/> so far, oldest first.</summary>
    public IReadOnlyList<byte[]> Bodies(string path)
    {
        lock (_received)
        {
            return [.. _received.Where(r => r.Path == path).Select(r => r.Body)];
        }
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}

[Collection(OtlpExporterCollection.Name)]
public sealed class OtlpExportTests
{
    [Fact]
    public async Task AJobRun_IsExportedOverOtlp_AsTracesAndMetrics()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var gemini = new GeminiEmulatorFixture();
        await gemini.InitializeAsync();
        var database = await PostgresServer.CreateDatabaseAsync("otlp");
        var env = WorkerSilo.BaseEnvironment(database, gemini.BaseUrl, gemini.ApiKey, Path.Combine(Path.GetTempPath(), "otlp-" + Guid.NewGuid().ToString("N")));
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.BaseUrl.ToString();
        await using (var silo = await WorkerSilo.StartAsync(env, configure: builder => builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.BaseUrl.ToString(),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "300",
        })))
        {
            var jobs = new JobTable(database);
            var id = await jobs.InsertAsync("image_generation", new { prompt = "traced", settings = new { numberOfVariants = 2 } });
            Assert.Equal("completed", (await jobs.WaitFinalAsync(id)).Status);

            string[] expected = ["/v1/traces:gemini.generate", "/v1/traces:" + id, "/v1/metrics:generation_worker.jobs.claimed", "/v1/metrics:generation_worker.gemini.requests"];
            await Eventually.UntilAsync(
                () => expected.All(e => receiver.Saw(e[..e.IndexOf(':')], e[(e.IndexOf(':') + 1)..])),
                TimeSpan.FromSeconds(20),
                "the collector receives the spans and metrics",
                TimeSpan.FromMilliseconds(100),
                () => "not received: " + string.Join(", ", expected.Where(e => !receiver.Saw(e[..e.IndexOf(':')], e[(e.IndexOf(':') + 1)..]))));
        }

        await PostgresServer.DropDatabaseAsync(database);
    }
}
