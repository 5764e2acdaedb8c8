using GenerationWorker.TestSupport;

namespace GenerationWorker.Grains.Tests.Jobs;

/// <summary>A silo whose NEXT_PUBLIC_APP_URL is the reference image server, as the app's deployment sets it.</summary>
public sealed class AppUrlFixture : PipelineFixture
{
    protected override void Configure(Dictionary<string, string?> env) => env["NEXT_PUBLIC_APP_URL"] = References.BaseUrl.ToString();
}

/// <summary>Reference images as the app writes them, through a real silo, the Gemini emulator and Postgres.</summary>
public sealed class ReferenceInputTests(AppUrlFixture fixture) : IClassFixture<AppUrlFixture>
{
    private readonly JobTable _jobs = fixture.Jobs;

    [Fact]
    public async Task DataUrlAndAppPathReferences_AreSentToGemini_AndTheJobCompletes()
    {
        var path = "/flaky/" + Guid.NewGuid().ToString("N");
        using (var http = new HttpClient())
        {
            // The path's one 503 is spent here: it answers the silo with the image.
            (await http.GetAsync(fixture.References.Url(path[1..]))).Dispose();
        }

        var prompt = "inline and app path " + Guid.NewGuid();
        var id = await _jobs.InsertAsync("image_generation", new
        {
            prompt,
            productImageUrls = new[] { "data:image/png;base64," + Convert.ToBase64String(ReferenceImageServer.TinyPng) },
            inspirationImageUrl = path,
        });

        var job = await _jobs.WaitFinalAsync(id);

        Assert.True(job.Status == "completed", job.ToString());
        Assert.Equal(1, job.Attempts);
        Assert.Equal(2, fixture.References.Hits[path]);
        var request = Assert.Single(fixture.Gemini.ReceivedRequests(prompt));
        Assert.Equal(2, request.ReferenceImages);
    }

    [Fact]
    public async Task AReferenceAnswering503ThenImage_IsRetried_AndTheJobCompletesOnItsSecondAttempt()
    {
        var url = fixture.References.Url("flaky/" + Guid.NewGuid().ToString("N"));
        var requestsBefore = fixture.Gemini.Stats.TotalRequests;
        var id = await _jobs.InsertAsync("image_edit", new { sourceImageUrl = url, editPrompt = "retried source " + Guid.NewGuid() });

        var job = await _jobs.WaitFinalAsync(id);

        Assert.True(job.Status == "completed", job.ToString());
        Assert.Equal(2, job.Attempts);
        var events = await _jobs.EventsAsync(id);
        var retry = Assert.Single(events, e => e.From == "processing" && e.To == "pending");
        Assert.Equal(1, retry.Attempt);
        Assert.Equal(1, fixture.Gemini.Stats.TotalRequests - requestsBefore);
    }

    [Fact]
    public async Task AReferenceAnswering404_FailsTheJobAtOnce_WithoutAGeminiRequest()
    {
        var requestsBefore = fixture.Gemini.Stats.TotalRequests;
        var id = await _jobs.InsertAsync("image_generation", new { prompt = "x", productImageUrls = new[] { "/status/404" } });

        var job = await _jobs.WaitFinalAsync(id);

        Assert.Equal("failed", job.Status);
        Assert.Equal(1, job.Attempts);
        Assert.Contains("answered HTTP 404", job.Error, StringComparison.Ordinal);
        Assert.Equal(0, fixture.Gemini.Stats.TotalRequests - requestsBefore);
    }
}
