using System.Text;
using GenerationWorker.GeminiEmulator;
using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Tests.Gemini;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Tests.Videos;

/// <summary>The Veo client, wired as the service wires it, against the emulator over HTTP.</summary>
public sealed class VeoClientTests : IAsyncLifetime
{
    private readonly CapturingLoggerProvider _logs = new();
    private GeminiEmulatorHandle _emulator = null!;
    private ServiceProvider _services = null!;
    private VeoClient _client = null!;

    public async Task InitializeAsync()
    {
        _emulator = await GeminiEmulatorServer.StartAsync(new EmulatorOptions { VideoGenerationTime = TimeSpan.FromMilliseconds(500) });
        var options = new GeminiOptions { ApiKey = _emulator.ApiKey, BaseUrl = _emulator.BaseUrl, Timeout = TimeSpan.FromSeconds(10) };
        _services = new ServiceCollection()
            .AddLogging(logging => logging.AddProvider(_logs).SetMinimumLevel(LogLevel.Trace))
            .AddVeoClient(options).Services.BuildServiceProvider();
        _client = _services.GetRequiredService<VeoClient>();
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    [Fact]
    public async Task StartPollDownload_GiveTheMp4_TheKeyIsNeverLogged_NorTheFileUriByTheService()
    {
        var start = await _client.StartAsync(Request("a spinning bottle"));
        var name = Assert.IsType<VeoStart.Started>(start).OperationName;
        var done = await Eventually.ValueAsync(() => _client.PollAsync(name), poll => poll is not VeoPoll.Running, TimeSpan.FromSeconds(10), "the operation ends");
        var uri = Assert.IsType<VeoPoll.Done>(done).VideoUri;

        var download = await _client.DownloadAsync(uri, Path.GetTempPath());

        using var video = Assert.IsType<VeoDownload.Saved>(download);
        var head = new byte[8];
        await video.Content.ReadExactlyAsync(head);
        Assert.Equal("ftyp", Encoding.ASCII.GetString(head, 4, 4));
        Assert.Equal(0, _emulator.Stats.Video.DownloadFailures);
        Assert.DoesNotContain(_logs.Lines, line => line.Contains(_emulator.ApiKey, StringComparison.Ordinal));
        var ownLines = _logs.Lines.Where(line => line.Contains(" GenerationWorker.", StringComparison.Ordinal)).ToList();
        Assert.DoesNotContain(ownLines, line => line.Contains(uri.AbsolutePath, StringComparison.Ordinal));
        Assert.Contains(ownLines, line => line.Contains(name, StringComparison.Ordinal));
    }

    [Fact]
    public async Task LostAnswer_IsUnknown_NeverRetryable()
    {
        var start = await _client.StartAsync(Request("lost [emulate:lost-start]"));

        Assert.IsType<VeoStart.Unknown>(start);
        Assert.Equal(1, _emulator.VideoStartsFor("lost [emulate:lost-start]"));
    }

    [Fact]
    public async Task Throttled_IsRefusedWithItsDelay_AndNoOperation()
    {
        var start = await _client.StartAsync(Request("throttled [emulate:429-retry=7s]"));

        var refused = Assert.IsType<VeoStart.Refused>(start);
        Assert.Equal(TimeSpan.FromSeconds(7), Assert.IsType<GeminiOutcome.Throttled>(refused.Outcome).RetryDelay);
        Assert.Equal(0, _emulator.VideoStartsFor("throttled"));
    }

    [Fact]
    public async Task FilteredAndFailedOperations_AreTheirOwnOutcomes()
    {
        var filtered = (VeoStart.Started)await _client.StartAsync(Request("filtered [emulate:video-filtered]"));
        var failed = (VeoStart.Started)await _client.StartAsync(Request("failed [emulate:video-fail=INVALID_ARGUMENT]"));

        var filteredEnd = await Eventually.ValueAsync(() => _client.PollAsync(filtered.OperationName), poll => poll is not VeoPoll.Running, TimeSpan.FromSeconds(10), "filtered ends");
        var failedEnd = await Eventually.ValueAsync(() => _client.PollAsync(failed.OperationName), poll => poll is not VeoPoll.Running, TimeSpan.FromSeconds(10), "failed ends");

        Assert.NotEmpty(Assert.IsType<VeoPoll.Filtered>(filteredEnd).Reasons);
        var error = Assert.IsType<VeoPoll.Failed>(failedEnd);
        Assert.Equal((3, "INVALID_ARGUMENT"), (error.Code, error.Status));
    }

    [Fact]
    public async Task DownloadFromAnotherHost_IsRefusedWithoutSendingTheKey()
    {
        var elsewhere = new ReferenceImageServer();
        await elsewhere.InitializeAsync();
        try
        {
            var download = await _client.DownloadAsync(new Uri(elsewhere.Url("v1beta/files/x:download?alt=media")), Path.GetTempPath());

            Assert.IsType<GeminiOutcome.Rejected>(Assert.IsType<VeoDownload.Failed>(download).Outcome);
            Assert.Empty(elsewhere.Hits);
        }
        finally
        {
            await elsewhere.DisposeAsync();
        }
    }

    private static VeoRequest Request(string prompt) =>
        new("veo-3.1-generate-preview", prompt, new InputImage(ReferenceImageServer.TinyPng, "image/png"), "16:9", null);
}
