using GenerationWorker.Grains.Configuration;
using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Jobs;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.Options;

namespace GenerationWorker.Grains.Tests.Jobs;

/// <summary>The fetcher against a real HTTP server on loopback (the address rule's test switch on, unless stated).</summary>
public sealed class ReferenceImageFetcherTests(ReferenceImageServer server) : IClassFixture<ReferenceImageServer>
{
    private ReferenceImageFetcher Fetcher(Uri? appUrl = null, bool allowPrivate = true, double timeoutSeconds = 5) => new(
        new HttpClient(ReferenceImageFetcher.CreateHandler(allowPrivate)) { Timeout = Timeout.InfiniteTimeSpan },
        Options.Create(new WorkerOptions { AppUrl = appUrl, ImageFetchTimeout = TimeSpan.FromSeconds(timeoutSeconds) }));

    private static ImageReference Parse(string text) =>
        ImageReference.TryParse(text, out var reference, out var error) ? reference : throw new ArgumentException(error);

    [Fact]
    public async Task AnInlineImage_IsReturnedWithoutTheNetwork()
    {
        // No server could answer at this app URL, and the address rule would refuse it: nothing is dialled.
        var fetcher = Fetcher(new Uri("http://127.0.0.1:1/"), allowPrivate: false);

        var image = await fetcher.FetchAsync(
            Parse("data:image/png;base64," + Convert.ToBase64String(ReferenceImageServer.TinyPng)), CancellationToken.None);

        Assert.Equal(ReferenceImageServer.TinyPng, image.Bytes);
        Assert.Equal("image/png", image.MimeType);
    }

    [Fact]
    public async Task AnAppPath_IsDownloadedFromNEXT_PUBLIC_APP_URL()
    {
        var path = "/flaky/app-path-" + Guid.NewGuid().ToString("N");
        var fetcher = Fetcher(new Uri(server.BaseUrl, "some/base/"));
        await Assert.ThrowsAsync<TransientReferenceImageException>(() => fetcher.FetchAsync(Parse(path), CancellationToken.None));

        var image = await fetcher.FetchAsync(Parse(path), CancellationToken.None);

        Assert.Equal(ReferenceImageServer.TinyPng, image.Bytes);
        Assert.Equal(2, server.Hits[path]);
    }

    [Fact]
    public async Task AnAppPath_WithoutNEXT_PUBLIC_APP_URL_IsPermanent_AndSaysWhatToSet()
    {
        var error = await Assert.ThrowsAsync<ReferenceImageException>(
            () => Fetcher(appUrl: null).FetchAsync(Parse("/api/images/a.png?token=secret"), CancellationToken.None));

        Assert.Contains("NEXT_PUBLIC_APP_URL is not set", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAppPath_IsUnderTheAddressRule_LikeAnyUrl()
    {
        var fetcher = Fetcher(server.BaseUrl, allowPrivate: false);
        var hitsBefore = server.Hits.GetValueOrDefault("/ref.png");

        var error = await Assert.ThrowsAsync<ReferenceImageException>(() => fetcher.FetchAsync(Parse("/ref.png"), CancellationToken.None));

        Assert.Contains("private, loopback or link-local", error.Message, StringComparison.Ordinal);
        Assert.Equal(hitsBefore, server.Hits.GetValueOrDefault("/ref.png"));
    }

    [Theory]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(503)]
    [InlineData(504)]
    [InlineData(408)]
    [InlineData(429)]
    public async Task ServerErrors_AreTransient(int status)
    {
        var error = await Assert.ThrowsAsync<TransientReferenceImageException>(
            () => Fetcher().FetchAsync(Parse(server.Url($"status/{status}")), CancellationToken.None));

        Assert.Contains($"answered HTTP {status}", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(403)]
    [InlineData(404)]
    [InlineData(410)]
    public async Task ClientErrors_ArePermanent(int status)
    {
        var error = await Assert.ThrowsAsync<ReferenceImageException>(
            () => Fetcher().FetchAsync(Parse(server.Url($"status/{status}")), CancellationToken.None));

        Assert.Contains($"answered HTTP {status}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATimeout_IsTransient()
    {
        var error = await Assert.ThrowsAsync<TransientReferenceImageException>(
            () => Fetcher(timeoutSeconds: 0.3).FetchAsync(Parse(server.Url("slow.png")), CancellationToken.None));

        Assert.Contains("did not download within", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AConnectionFailure_IsTransient()
    {
        // A port nothing listens on: the connection is refused.
        var url = $"http://127.0.0.1:{WorkerSilo.FreePort()}/a.png";

        var error = await Assert.ThrowsAsync<TransientReferenceImageException>(() => Fetcher().FetchAsync(Parse(url), CancellationToken.None));

        Assert.Contains("unreachable", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NotAnImage_IsPermanent()
    {
        var error = await Assert.ThrowsAsync<ReferenceImageException>(
            () => Fetcher().FetchAsync(Parse(server.Url("page.html")), CancellationToken.None));

        Assert.Contains("is not an image", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ManyLargeImages_AreDownloadedAFewAtATime_AndStopAtTheTotalLimit()
    {
        var references = Enumerable.Range(0, 16).Select(i => Parse(server.Url($"five-mb/total-{i}"))).ToList();

        var error = await Assert.ThrowsAsync<ReferenceImageException>(
            () => Fetcher().FetchAllAsync(references, CancellationToken.None));

        Assert.Contains("reference images exceed 20 MB in total", error.Message, StringComparison.Ordinal);
        // Four 5 MB images make the 20 MB limit: the fifth passes it, and what the workers had started is all that ran.
        int requested;
        lock (server.Hits)
        {
            requested = server.Hits.Keys.Count(path => path.StartsWith("/five-mb/total-", StringComparison.Ordinal));
        }

        Assert.InRange(requested, 5, 4 + ReferenceImageFetcher.DownloadConcurrency);
        Assert.InRange(server.MostConcurrentFiveMb, 1, ReferenceImageFetcher.DownloadConcurrency);
    }

    [Fact]
    public async Task ADownload_WaitsForMemoryInTheGate()
    {
        var gate = new GeminiGate(4, 6L << 20);
        var fetcher = new ReferenceImageFetcher(
            new HttpClient(ReferenceImageFetcher.CreateHandler(true)) { Timeout = Timeout.InfiniteTimeSpan },
            Options.Create(new WorkerOptions { ImageFetchTimeout = TimeSpan.FromSeconds(5) }), gate);
        var held = await gate.ReserveMemoryAsync(2L << 20, CancellationToken.None);

        var download = fetcher.FetchAsync(Parse(server.Url("five-mb/gated")), CancellationToken.None);
        await Eventually.UntilAsync(
            () =>
            {
                lock (server.Hits)
                {
                    return server.Hits.ContainsKey("/five-mb/gated");
                }
            },
            TimeSpan.FromSeconds(5),
            "the download's request");
        Assert.False(download.IsCompleted);

        held.Dispose();
        var image = await download.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(5 << 20, image.Bytes.Length);
    }

    [Theory]
    [InlineData("192.0.0.8")]
    [InlineData("192.0.2.1")]
    [InlineData("198.18.0.1")]
    [InlineData("198.19.255.254")]
    [InlineData("198.51.100.7")]
    [InlineData("203.0.113.9")]
    [InlineData("168.63.129.16")]
    [InlineData("100.64.0.1")]
    [InlineData("240.0.0.1")]
    [InlineData("192.88.99.1")]
    [InlineData("10.1.2.3")]
    [InlineData("169.254.169.254")]
    [InlineData("::")]
    [InlineData("::1")]
    [InlineData("::127.0.0.1")]
    [InlineData("::ffff:10.0.0.1")]
    [InlineData("64:ff9b::a9fe:a9fe")]
    [InlineData("64:ff9b:1::1")]
    [InlineData("100::1")]
    [InlineData("2001::1")]
    [InlineData("2001:db8::1")]
    [InlineData("2002:a9fe:a9fe::1")]
    [InlineData("fd00::1")]
    [InlineData("fe80::1")]
    [InlineData("ff02::1")]
    public void SpecialPurposeAddresses_AreNotPublic(string address) =>
        Assert.False(ReferenceImageFetcher.IsPublic(System.Net.IPAddress.Parse(address)));

    [Theory]
    [InlineData("8.8.8.8")]
    [InlineData("1.1.1.1")]
    [InlineData("192.0.3.1")]
    [InlineData("198.20.0.1")]
    [InlineData("168.63.129.17")]
    [InlineData("2606:4700:4700::1111")]
    [InlineData("2a00:1450:4001:80b::200e")]
    [InlineData("::ffff:8.8.8.8")]
    public void OrdinaryAddresses_ArePublic(string address) =>
        Assert.True(ReferenceImageFetcher.IsPublic(System.Net.IPAddress.Parse(address)));

    [Fact]
    public void TheHandler_UsesNoProxyAndNoCookies()
    {
        using var handler = ReferenceImageFetcher.CreateHandler(allowPrivate: false);

        Assert.False(handler.UseProxy);
        Assert.False(handler.UseCookies);
    }
}
