using System.Xml.Linq;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Storage;
using GenerationWorker.TestSupport;

namespace GenerationWorker.Grains.Tests.Storage;

/// <summary>The R2 image store against a real S3 server (s3rver over verified HTTPS).</summary>
public sealed class R2ImageStoreTests(S3ServerFixture server) : IClassFixture<S3ServerFixture>, IDisposable
{
    private readonly RecordingLogger<R2ImageStore> _logger = new();
    private readonly RecordingHttpClientFactory _wire = new();
    private readonly AmazonS3Client _reader = new(
        new BasicAWSCredentials(S3ServerFixture.AccessKeyId, S3ServerFixture.SecretAccessKey),
        new AmazonS3Config { ServiceURL = server.Endpoint.ToString(), ForcePathStyle = true, AuthenticationRegion = "auto" });

    public void Dispose() => _reader.Dispose();

    [Fact]
    public async Task PutAsync_RealPng_ReadsBackByteForByte()
    {
        var png = TestImages.GeminiPng;
        Assert.True(TestImages.IsPng(png));
        using var store = CreateStore();
        var key = TestKeys.For("client_rt", "job_" + Guid.NewGuid().ToString("N"), 0, "image/png");

        var url = await store.PutAsync(key, png, "image/png");

        Assert.Equal($"{S3ServerFixture.PublicBaseUrl}/{key}", url);
        Assert.Equal(png, await ReadObjectAsync(key));
        using var http = new HttpClient();
        Assert.Equal(png, await http.GetByteArrayAsync(server.ObjectUrl(key)));
    }

    [Fact]
    public async Task PutAsync_StoresContentTypeAndImmutableCacheControl()
    {
        using var store = CreateStore();
        var key = TestKeys.For("client_meta", "job_" + Guid.NewGuid().ToString("N"), 1, "image/jpeg");

        await store.PutAsync(key, TestImages.GeminiPng.AsMemory(0, 4096), "image/jpeg");

        var metadata = await _reader.GetObjectMetadataAsync(server.Bucket, key);
        Assert.Equal("image/jpeg", metadata.Headers.ContentType);
        Assert.Equal("public, max-age=31536000, immutable", metadata.Headers.CacheControl);
        Assert.Equal(4096, metadata.Headers.ContentLength);
        using var http = new HttpClient();
        using var response = await http.GetAsync(server.ObjectUrl(key));
        Assert.Equal("image/jpeg", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("public, max-age=31536000, immutable", response.Headers.CacheControl?.ToString());
    }

    [Fact]
    public async Task PutAsync_SameKeyAgain_OverwritesTheOneObject()
    {
        using var store = CreateStore();
        var jobFolder = $"generations/client_retry/job_{Guid.NewGuid():N}/";
        var key = jobFolder + "0.png";
        var first = TestImages.GeminiPng.AsMemory(0, 50_000).ToArray();
        var second = TestImages.GeminiPng.AsMemory(100_000, 70_000).ToArray();

        await store.PutAsync(key, first, "image/png");
        await store.PutAsync(key, second, "image/png");

        var only = Assert.Single(await ListAsync(jobFolder));
        Assert.Equal((key, second.Length), only);
        Assert.Equal(second, await ReadObjectAsync(key));
    }

    [Fact]
    public async Task PutAsync_SliceOfLargerBuffer_StoresExactlyTheSlice()
    {
        using var store = CreateStore();
        var key = $"generations/client_slice/job_{Guid.NewGuid():N}/0.png";
        var slice = TestImages.GeminiPng.AsMemory(12_345, 200_001);

        await store.PutAsync(key, slice, "image/png");

        Assert.Equal(slice.ToArray(), await ReadObjectAsync(key));
    }

    [Fact]
    public async Task PutAsync_SendsSinglePlainPutThatR2Accepts()
    {
        var png = TestImages.GeminiPng;
        using var store = CreateStore(config => config.HttpClientFactory = _wire);
        var key = $"generations/client_wire/job_{Guid.NewGuid():N}/0.png";

        await store.PutAsync(key, png, "image/png");

        var put = Assert.Single(_wire.Requests);
        Assert.Equal(HttpMethod.Put, put.Method);
        Assert.Equal($"/{server.Bucket}/{key}", put.Uri.AbsolutePath);
        Assert.Equal("UNSIGNED-PAYLOAD", put.Header("X-Amz-Content-SHA256"));
        Assert.Equal(png.Length, put.ContentLength);
        Assert.False(put.Chunked, "the body must not be sent with Transfer-Encoding: chunked");
        Assert.DoesNotContain("aws-chunked", put.Header("Content-Encoding") ?? "");
        Assert.Null(put.Header("x-amz-decoded-content-length"));
        Assert.Null(put.Header("x-amz-trailer"));
        Assert.Null(put.Header("x-amz-sdk-checksum-algorithm"));
        Assert.DoesNotContain(put.Headers.Keys, name => name.StartsWith("x-amz-checksum-", StringComparison.OrdinalIgnoreCase));
        Assert.Null(put.Header("Content-MD5"));
        var authorization = put.Header("Authorization");
        Assert.NotNull(authorization);
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=S3RVER/", authorization);
        Assert.Contains("/auto/s3/aws4_request", authorization);
        Assert.Equal("image/png", put.Header("Content-Type"));
        Assert.Equal("public, max-age=31536000, immutable", put.Header("Cache-Control"));
        Assert.Equal(png, await ReadObjectAsync(key));
    }

    [Fact]
    public async Task PutAsync_FromAnImageInATemporaryFile_SendsOnePlainPutOfItsExactLength_AndEachTryReadsItFromTheStart()
    {
        var bytes = new byte[(3 << 20) + 17];
        new Random(7).NextBytes(bytes);
        var spoolDirectory = Directory.CreateTempSubdirectory("r2-spool-").FullName;
        try
        {
            using var spool = new ImageSpool(spoolDirectory);
            spool.Write(bytes);
            using var image = spool.Complete("image/png");
            Assert.True(image.IsFileBacked);
            using var store = CreateStore(config => config.HttpClientFactory = _wire);
            var key = $"generations/client_file/job_{Guid.NewGuid():N}/0.png";

            for (var attempt = 0; attempt < 2; attempt++)
            {
                await using var content = image.OpenRead();
                await store.PutAsync(key, content, "image/png");
            }

            Assert.Equal(2, _wire.Requests.Count);
            Assert.All(_wire.Requests, put =>
            {
                Assert.Equal(bytes.Length, put.ContentLength);
                Assert.False(put.Chunked, "the body must not be sent with Transfer-Encoding: chunked");
                Assert.Equal("UNSIGNED-PAYLOAD", put.Header("X-Amz-Content-SHA256"));
                Assert.DoesNotContain("aws-chunked", put.Header("Content-Encoding") ?? "");
                Assert.Null(put.Header("x-amz-trailer"));
            });
            Assert.Equal(bytes, await ReadObjectAsync(key));
        }
        finally
        {
            Directory.Delete(spoolDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task PutAsync_StreamThatCannotSeek_IsRefusedBeforeAnythingIsSent()
    {
        using var store = CreateStore(config => config.HttpClientFactory = _wire);
        await using var forwardOnly = new ForwardOnlyStream(new MemoryStream([1, 2, 3]));

        await Assert.ThrowsAsync<ArgumentException>(() => store.PutAsync("generations/c/j/0.png", forwardOnly, "image/png"));

        Assert.Empty(_wire.Requests);
    }

    [Fact]
    public async Task PutAsync_IdsWithSlashesSpacesAndUnicode_StoreUnderOneFolderAndTheUrlPathNamesTheKey()
    {
        using var store = CreateStore();
        var bytes = TestImages.GeminiPng.AsMemory(0, 10_000);
        var key = TestKeys.For("../tenant a/é", "job/../" + Guid.NewGuid().ToString("N"), 2, "image/png");

        var url = await store.PutAsync(key, bytes, "image/png");

        Assert.Equal(6, key.Split('/').Length);
        Assert.Equal(key, Assert.Single(await ListAsync("clients/%2E%2E%2Ftenant%20a%2F%C3%A9/")).Key);
        Assert.Equal(bytes.ToArray(), await ReadObjectAsync(key));
        using var http = new HttpClient();
        Assert.Equal(bytes.ToArray(), await http.GetByteArrayAsync(server.ObjectUrl(key)));
        Assert.Equal(S3ServerFixture.PublicBaseUrl + "/" + ObjectKeys.ToUrlPath(key), url);
    }

    private R2ImageStore CreateStore(Action<AmazonS3Config>? configure = null) => new(server.Options, _logger, configure);

    /// <summary>The keys and sizes of the bucket's objects under a prefix, as the server lists them.</summary>
    /// <remarks>
    /// Asked anonymously over HTTP (s3rver allows it): s3rver refuses the SDK's signature of bucket-level list requests
    /// with SignatureDoesNotMatch.
    /// </remarks>
    private async Task<List<(string Key, long Size)>> ListAsync(string prefix)
    {
        using var http = new HttpClient();
        var xml = XDocument.Parse(await http.GetStringAsync(new Uri(server.Endpoint, $"{server.Bucket}?list-type=2&prefix={Uri.EscapeDataString(prefix)}")));
        XNamespace s3 = "http://doc.s3.amazonaws.com/2006-03-01/";
        Assert.Equal("false", xml.Root!.Element(s3 + "IsTruncated")?.Value);
        return xml.Root.Elements(s3 + "Contents")
            .Select(c => (c.Element(s3 + "Key")!.Value, long.Parse(c.Element(s3 + "Size")!.Value)))
            .ToList();
    }

    private async Task<byte[]> ReadObjectAsync(string key)
    {
        using var response = await _reader.GetObjectAsync(server.Bucket, key);
        using var copy = new MemoryStream();
        await response.ResponseStream.CopyToAsync(copy);
        return copy.ToArray();
    }
}

/// <summary>A stream that reads forward only, as a network stream does.</summary>
internal sealed class ForwardOnlyStream(Stream inner) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
