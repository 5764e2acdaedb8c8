using System.Net;
using System.Net.Sockets;
using System.Text;
using GenerationWorker.Grains.Storage;
using GenerationWorker.Silo.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Tests.Storage;

/// <summary><c>MapLocalImageFiles</c> served by a real Kestrel on loopback, with files written by the local store.</summary>
public sealed class LocalFilesEndpointsTests : IAsyncLifetime
{
    private const string SecretText = "outside-the-storage-directory";

    private readonly string _sandbox = Path.Combine(Path.GetTempPath(), "local-files-" + Guid.NewGuid().ToString("N"));
    private readonly HttpClient _http = new();
    private WebApplication? _app;
    private Uri _baseAddress = new("http://127.0.0.1/");

    private string Root => Path.Combine(_sandbox, "storage");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Root);
        await File.WriteAllTextAsync(Path.Combine(_sandbox, "secret.txt"), SecretText);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        Directory.Delete(_sandbox, recursive: true);
    }

    [Fact]
    public async Task Get_StoredImage_ServesItsBytesWithContentTypeAndCacheControl()
    {
        var options = await StartAsync(StorageKind.Local);
        var store = new LocalImageStore(options, new RecordingLogger<LocalImageStore>());
        var png = TestImages.GeminiPng;

        var url = await store.PutAsync(TestKeys.For("client_1", "job_1", 0, "image/png"), png, "image/png");

        using var response = await _http.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("public, max-age=31536000, immutable", response.Headers.CacheControl?.ToString());
        Assert.Equal(png, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Get_ImageOfEscapedIds_IsFoundThroughItsPublicUrl()
    {
        var options = await StartAsync(StorageKind.Local);
        var store = new LocalImageStore(options, new RecordingLogger<LocalImageStore>());
        var bytes = TestImages.GeminiPng.AsMemory(0, 5000);

        var url = await store.PutAsync(TestKeys.For("../tenant a/é", "job?1", 1, "image/jpeg"), bytes, "image/jpeg");

        using var response = await _http.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/jpeg", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(bytes.ToArray(), await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("/files/generations/c/j/missing.png")]
    [InlineData("/files/generations")]
    [InlineData("/files/")]
    [InlineData("/files")]
    public async Task Get_MissingFileOrDirectory_Is404(string path)
    {
        await StartAsync(StorageKind.Local);
        Directory.CreateDirectory(Path.Combine(Root, "generations", "c", "j"));

        using var response = await _http.GetAsync(new Uri(_baseAddress, path));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Theory]
    [InlineData("/files/../secret.txt")]
    [InlineData("/files/%2E%2E/secret.txt")]
    [InlineData("/files/..%2Fsecret.txt")]
    [InlineData("/files/%2e%2e%2fsecret.txt")]
    [InlineData("/files/..%5Csecret.txt")]
    [InlineData("/files/generations/..%2F..%2Fsecret.txt")]
    [InlineData("/files//etc/passwd")]
    [InlineData("/files/%2Fetc%2Fpasswd")]
    public async Task Get_PathLeavingTheDirectory_IsNotServed(string requestTarget)
    {
        await StartAsync(StorageKind.Local);

        var (status, body) = await RawGetAsync(requestTarget);

        Assert.NotEqual(200, status);
        Assert.DoesNotContain(SecretText, body);
        Assert.DoesNotContain("root:", body);
    }

    [Fact]
    public async Task Get_HiddenTemporaryFile_Is404()
    {
        await StartAsync(StorageKind.Local);
        Directory.CreateDirectory(Path.Combine(Root, "generations"));
        await File.WriteAllTextAsync(Path.Combine(Root, "generations", ".0.png.tmp"), "partial");

        using var response = await _http.GetAsync(new Uri(_baseAddress, "/files/generations/.0.png.tmp"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Get_WhenStorageIsR2_NothingIsServed()
    {
        await StartAsync(StorageKind.R2);
        Directory.CreateDirectory(Path.Combine(Root, "generations"));
        await File.WriteAllBytesAsync(Path.Combine(Root, "generations", "0.png"), TestImages.GeminiPng);

        using var response = await _http.GetAsync(new Uri(_baseAddress, "/files/generations/0.png"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private async Task<StorageOptions> StartAsync(StorageKind kind)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        _app = app;
        var options = new StorageOptions { Kind = kind, LocalDirectory = Root, PublicUrl = "placeholder" };
        app.MapLocalImageFiles(options);
        await app.StartAsync();
        _baseAddress = new Uri(app.Urls.Single());
        options.PublicUrl = new Uri(_baseAddress, "/files").ToString();
        return options;
    }

    /// <summary>Sends the request target exactly as written (an HTTP client would normalise dot segments first).</summary>
    private async Task<(int Status, string Body)> RawGetAsync(string requestTarget)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(_baseAddress.Host, _baseAddress.Port);
        await using var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {requestTarget} HTTP/1.1\r\nHost: {_baseAddress.Authority}\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var response = await reader.ReadToEndAsync();
        var status = int.Parse(response.Split(' ', 3)[1]);
        return (status, response);
    }
}
