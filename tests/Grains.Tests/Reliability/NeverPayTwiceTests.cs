using GenerationWorker.GeminiEmulator;
using GenerationWorker.Grains.Jobs;
using GenerationWorker.Grains.Storage;
using GenerationWorker.Grains.Tests.Gemini;
using Xunit.Abstractions;
using GenerationWorker.TestSupport;

namespace GenerationWorker.Grains.Tests.Reliability;

/// <summary>A silo whose log lines the tests read (to act at the moment an upload fails).</summary>
public sealed class LoggedSiloFixture : ReliabilityFixture
{
    public CapturingLoggerProvider Logs { get; } = new();

    protected override bool StartsSilo => false;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await StartSiloAsync(logs: Logs);
    }
}

[Collection(ReliabilityCollection.Name)]
public sealed class NeverPayTwiceTests(LoggedSiloFixture fixture, ITestOutputHelper output) : IClassFixture<LoggedSiloFixture>
{
    [Fact]
    public async Task FailedVariant_IsTheOnlyOneAskedForAgain()
    {
        var tag = "twice " + Guid.NewGuid().ToString("N");
        fixture.Gemini.Faults.Enqueue([new ScriptedFault("ok"), new ScriptedFault("503"), new ScriptedFault("ok")]);
        var id = await fixture.Jobs.InsertAsync("image_generation", new { prompt = tag, settings = new { numberOfVariants = 3 } });

        var job = await fixture.Jobs.WaitFinalAsync(id);

        var requests = fixture.RequestsFor(tag);
        output.WriteLine($"Gemini requests for the 3-variant job: {requests.Count} ({string.Join(", ", requests.Select(r => r.Outcome))}), attempts {job.Attempts}");
        Assert.Equal("completed", job.Status);
        Assert.Equal(2, job.Attempts);
        Assert.Equal(4, requests.Count);
        Assert.Equal(3, requests.Count(r => r.Outcome == RequestOutcome.Success));
        Assert.Equal(3, job.ImageUrls.Count);
        Assert.Equal([.. Enumerable.Range(0, 3).Select(n => GenerationWorker.Grains.Assets.AssetIds.ForVariant(id, n))], job.ImageIds);
        // Each stored variant is a WebP and its PNG original, in the job's asset folder (no flow or session: adhoc).
        var stored = Directory.GetFiles(Path.Combine(fixture.StorageDirectory, ObjectKeys.AssetFolder("client-1", null, null)))
            .Where(file => job.ImageIds.Any(assetId => Path.GetFileName(file).StartsWith(assetId, StringComparison.Ordinal))).ToList();
        Assert.Equal(6, stored.Count);
    }

    [Fact]
    public async Task FailedUpload_IsRetried_WithoutAskingGeminiAgain()
    {
        var tag = "upload " + Guid.NewGuid().ToString("N");
        var id = "job_" + Guid.NewGuid().ToString("N");
        // A file where the job's asset folder must go (a client of its own): the store cannot create the folder, so the
        // first upload fails.
        var client = "upload-" + Guid.NewGuid().ToString("N")[..8];
        var folder = Path.Combine(fixture.StorageDirectory, ObjectKeys.AssetFolder(client, null, null));
        Directory.CreateDirectory(Path.GetDirectoryName(folder)!);
        await File.WriteAllTextAsync(folder, "in the way");
        await fixture.Jobs.InsertAsync("image_generation", new { prompt = tag }, id: id, clientId: client);

        await Eventually.UntilAsync(() => fixture.Logs.Lines.Any(l => l.Contains(id, StringComparison.Ordinal) && l.Contains("retrying the upload", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(20), "the first upload failure");
        File.Delete(folder);
        var job = await fixture.Jobs.WaitFinalAsync(id);

        output.WriteLine($"upload retries logged: {fixture.Logs.Lines.Count(l => l.Contains(id, StringComparison.Ordinal) && l.Contains("retrying the upload", StringComparison.Ordinal))}; Gemini requests: {fixture.RequestsFor(tag).Count}");
        Assert.Equal("completed", job.Status);
        Assert.Equal(1, job.Attempts);
        Assert.Single(fixture.RequestsFor(tag));
        Assert.Equal(2, Directory.GetFiles(folder).Length);
        using var http = new HttpClient();
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync(job.ImageUrls.Single())).StatusCode);
    }
}
