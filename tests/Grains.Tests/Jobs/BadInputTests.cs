using GenerationWorker.TestSupport;

namespace GenerationWorker.Grains.Tests.Jobs;

/// <summary>A silo that fetches reference images with a short time limit.</summary>
public sealed class BadInputFixture : PipelineFixture
{
    protected override void Configure(Dictionary<string, string?> env) => env["IMAGE_FETCH_TIMEOUT_SECONDS"] = "1";
}

/// <summary>A silo with the address rule on (the default in production).</summary>
public sealed class SsrfFixture : PipelineFixture
{
    protected override void Configure(Dictionary<string, string?> env) => env["IMAGE_URL_ALLOW_PRIVATE"] = "false";
}

public sealed class BadInputTests(BadInputFixture fixture) : IClassFixture<BadInputFixture>
{
    public static TheoryData<string, string, string> BadJobs(string refs) => new()
    {
        { "audio_generation", """{"prompt":"x"}""", "unknown job type 'audio_generation'" },
        { "video_generation", """{"prompt":"x","settings":{"aspectRatio":"1:1"}}""", "settings.aspectRatio '1:1' is not one of 16:9, 9:16" },
        { "image_generation", "\"just a string\"", "payload must be a JSON object, not string" },
        { "image_generation", "[1,2,3]", "payload must be a JSON object, not array" },
        { "image_generation", """{"settings":{"aspectRatio":"1:1"}}""", "'prompt' is required" },
        { "image_generation", """{"prompt":"   "}""", "'prompt' must not be empty" },
        { "image_generation", """{"prompt":42}""", "'prompt' must be a string, not number" },
        { "image_generation", """{"prompt":"x","settings":{"aspectRatio":"7:3"}}""", "aspect ratio '7:3' is not one of" },
        { "image_generation", """{"prompt":"x","settings":{"imageQuality":"8k"}}""", "settings.imageQuality '8k' is not one of 1k, 2k, 4k" },
        { "image_generation", """{"prompt":"x","settings":{"numberOfVariants":9}}""", "numberOfVariants must be a whole number from 1 to 8 (got 9)" },
        { "image_generation", """{"prompt":"x","settings":{"numberOfVariants":0}}""", "numberOfVariants must be a whole number from 1 to 8 (got 0)" },
        { "image_generation", """{"prompt":"x","settings":{"numberOfVariants":2.5}}""", "numberOfVariants must be a whole number from 1 to 8 (got 2.5)" },
        { "image_generation", """{"prompt":"x","settings":"wide"}""", "'settings' must be an object" },
        { "image_generation", """{"prompt":"x","productImageUrls":["ftp://files.example.com/a.png"]}""", "'productImageUrls[0]' must be an http(s) URL" },
        { "image_generation", """{"prompt":"x","inspirationImageUrl":"javascript:alert(1)"}""", "'inspirationImageUrl' must be an http(s) URL" },
        { "image_generation", """{"prompt":"x","productImageUrls":"https://a.example/x.png"}""", "'productImageUrls' must be an array of URLs" },
        { "image_edit", """{"editPrompt":"x"}""", "'sourceImageUrl' is required" },
        { "image_edit", $$"""{"sourceImageUrl":"{{refs}}ref.png"}""", "'editPrompt' is required" },
        { "image_edit", $$"""{"sourceImageUrl":"{{refs}}ref.png","editPrompt":"x","referenceImages":[{"componentName":5}]}""", "'referenceImages[0].componentName' must be a string" },
        { "image_edit", $$"""{"sourceImageUrl":"{{refs}}ref.png","editPrompt":"x","previewOnly":false,"settings":{"imageQuality":"3k"} }""", "settings.imageQuality '3k' is not one of 1k, 2k, 4k" },
        { "image_edit", $$"""{"sourceImageUrl":"{{refs}}ref.png","editPrompt":"x","tempStoragePrefix":"tmp/edit-sessions/other-client/s1/"}""", "'tempStoragePrefix' must be a folder under tmp/edit-sessions/client-1/" },
        { "image_generation", $$"""{"prompt":"x","productImageUrls":["{{refs}}page.html"]}""", "is not an image (content type text/html)" },
        { "image_generation", $$"""{"prompt":"x","productImageUrls":["{{refs}}missing"]}""", "answered HTTP 404" },
        { "image_generation", $$"""{"prompt":"x","productImageUrls":["{{refs}}huge.png"]}""", "is larger than 20 MB" },
        { "image_generation", """{"prompt":"x","productImageUrls":["/api/images/a.png"]}""", "NEXT_PUBLIC_APP_URL is not set" },
        { "image_generation", """{"prompt":"x","productImageUrls":["//cdn.example.com/a.png"]}""", "single '/'" },
        { "image_generation", """{"prompt":"x","inspirationImageUrls":["data:text/plain;base64,aGVsbG8="]}""", "'inspirationImageUrls[0]' is a data URL of text/plain, not of an image" },
        { "image_edit", $$"""{"sourceImageUrl":"{{refs}}status/410","editPrompt":"x"}""", "answered HTTP 410" },
        { "image_generation", $$"""{"prompt":"x","productImageUrls":[{{string.Join(",", Enumerable.Range(0, 300).Select(i => $"\"{refs}five-mb/poison-{i}\""))}}]}""", "the job names 300 reference images; at most 16 are accepted" },
        { "image_generation", $$"""{"prompt":"x","productImageUrls":[{{string.Join(",", Enumerable.Range(0, 9).Select(i => $"\"{refs}ref.png?p={i}\""))}}],"inspirationImageUrls":[{{string.Join(",", Enumerable.Range(0, 8).Select(i => $"\"{refs}ref.png?i={i}\""))}}]}""", "the job names 17 reference images; at most 16 are accepted" },
        { "image_generation", $$"""{"prompt":"{{new string('p', 20_001)}}"}""", "'prompt' is 20001 characters long; at most 20000 are accepted" },
        { "image_edit", $$"""{"sourceImageUrl":"{{refs}}ref.png","editPrompt":"{{new string('e', 20_001)}}"}""", "'editPrompt' is 20001 characters long; at most 20000 are accepted" },
        { "image_generation", $$"""{"prompt":"x","productImageUrls":[{{string.Join(",", Enumerable.Range(0, 5).Select(i => $"\"{refs}five-mb/sum-{i}\""))}}]}""", "reference images exceed 20 MB in total" },
    };

    [Fact]
    public async Task EveryBadJob_FailsAtOnceWithItsOwnError_AndAGoodJobBesideThemCompletes()
    {
        var refs = fixture.References.BaseUrl.ToString();
        var cases = BadJobs(refs).Select(row => ((string)row[0], (string)row[1], (string)row[2])).ToList();
        var requestsBefore = fixture.Gemini.Stats.TotalRequests;
        var good = await fixture.Jobs.InsertAsync("image_generation", new { prompt = "good neighbour " + Guid.NewGuid() });
        var ids = new List<string>();
        foreach (var (type, payload, _) in cases)
        {
            ids.Add(await fixture.Jobs.InsertAsync(type, payload));
        }

        var results = await fixture.Jobs.WaitAllFinalAsync(ids);

        Assert.True(cases.Count >= 12);
        for (var i = 0; i < cases.Count; i++)
        {
            var (type, payload, expected) = cases[i];
            var job = results[i];
            Assert.True(job.Status == "failed", $"{type} {payload}: expected failed, got {job.Status} ({job.Error})");
            Assert.True(job.Error?.Contains(expected, StringComparison.Ordinal) == true, $"{payload}: expected error containing \"{expected}\", got \"{job.Error}\"");
            Assert.Equal(1, job.Attempts);
        }

        Assert.Equal(cases.Count, results.Select(r => r.Error).Distinct().Count());
        Assert.DoesNotContain(fixture.References.Hits.Keys, path => path.StartsWith("/five-mb/poison-", StringComparison.Ordinal));
        Assert.Equal("completed", (await fixture.Jobs.WaitFinalAsync(good)).Status);
        Assert.Equal(1, fixture.Gemini.Stats.TotalRequests - requestsBefore);
    }
}

public sealed class TransientReferenceTests(BadInputFixture fixture) : IClassFixture<BadInputFixture>
{
    [Theory]
    [InlineData("{refs}slow.png", "did not download within 1 s")]
    [InlineData("http://unreachable.invalid/a.png", "unreachable")]
    [InlineData("{refs}status/503", "answered HTTP 503")]
    public async Task ATransientReferenceFailure_IsRetried_AndFailsOnlyOnceTheAttemptsAreSpent(string url, string expected)
    {
        url = url.Replace("{refs}", fixture.References.BaseUrl.ToString(), StringComparison.Ordinal);
        var id = await fixture.Jobs.InsertAsync("image_generation", new { prompt = "x", productImageUrls = new[] { url } }, maxAttempts: 2);

        var job = await fixture.Jobs.WaitFinalAsync(id);

        Assert.Equal("failed", job.Status);
        Assert.Equal(2, job.Attempts);
        Assert.Contains(expected, job.Error, StringComparison.Ordinal);
        Assert.Single(await fixture.Jobs.EventsAsync(id), e => e.From == "processing" && e.To == "pending");
    }
}

public sealed class SsrfTests(SsrfFixture fixture) : IClassFixture<SsrfFixture>
{
    [Theory]
    [InlineData("http://127.0.0.1:{port}/ref.png")]
    [InlineData("http://localhost:{port}/ref.png")]
    [InlineData("http://[::1]:{port}/ref.png")]
    [InlineData("http://169.254.169.254/latest/meta-data/")]
    [InlineData("http://10.0.0.1/a.png")]
    [InlineData("http://192.168.1.1/a.png")]
    [InlineData("http://127.0.0.1:{port}/redirect-to-private")]
    public async Task PrivateLoopbackAndLinkLocalAddresses_AreRefused(string url)
    {
        url = url.Replace("{port}", fixture.References.BaseUrl.Port.ToString(), StringComparison.Ordinal);
        var id = await fixture.Jobs.InsertAsync("image_generation", new { prompt = "x", productImageUrls = new[] { url } });

        var job = await fixture.Jobs.WaitFinalAsync(id);

        Assert.Equal("failed", job.Status);
        Assert.Contains("private, loopback or link-local", job.Error);
        Assert.Equal(1, job.Attempts);
        Assert.DoesNotContain("/ref.png", fixture.References.Hits.Keys);
    }
}
