using System.Net;
using System.Net.Sockets;
using GenerationWorker.Grains.Storage;
using GenerationWorker.TestSupport;

namespace GenerationWorker.Grains.Tests.Storage;

/// <summary>How the R2 image store fails against a real S3 server that refuses, is gone, or never answers.</summary>
public sealed class R2ImageStoreFailureTests(S3ServerFixture server) : IClassFixture<S3ServerFixture>
{
    private const string DistinctSecret = "sEcReT-9f2c41d7-never-to-be-seen";

    private static readonly byte[] Bytes = TestImages.GeminiPng.AsMemory(0, 2048).ToArray();

    private readonly RecordingLogger<R2ImageStore> _logger = new();

    [Fact]
    public async Task PutAsync_UnknownAccessKey_FailsAsAccessDeniedWithoutTheSecret()
    {
        var options = server.Options;
        options.AccessKeyId = "NOT-A-KEY";
        options.SecretAccessKey = DistinctSecret;

        var error = await PutExpectingFailureAsync(options);

        Assert.Equal(ImageStoreFailure.AccessDenied, error.Failure);
        Assert.Contains("InvalidAccessKeyId", error.Message);
        Assert.Contains("403", error.Message);
        AssertNoSecret(error);
    }

    [Fact]
    public async Task PutAsync_WrongSecret_FailsAsAccessDeniedWithoutTheSecret()
    {
        var options = server.Options;
        options.SecretAccessKey = DistinctSecret;

        var error = await PutExpectingFailureAsync(options);

        Assert.Equal(ImageStoreFailure.AccessDenied, error.Failure);
        Assert.Contains("SignatureDoesNotMatch", error.Message);
        AssertNoSecret(error);
    }

    [Fact]
    public async Task PutAsync_MissingBucket_FailsAsBucketNotFound()
    {
        var options = server.Options;
        options.Bucket = "no-such-bucket-" + Guid.NewGuid().ToString("N")[..8];

        var error = await PutExpectingFailureAsync(options);

        Assert.Equal(ImageStoreFailure.BucketNotFound, error.Failure);
        Assert.Contains("NoSuchBucket", error.Message);
        Assert.Contains(options.Bucket, error.Message);
    }

    [Fact]
    public async Task PutAsync_ServerDown_FailsAsUnreachable()
    {
        var options = server.Options;
        options.Endpoint = new Uri($"https://127.0.0.1:{UnusedLoopbackPort()}/");
        options.SecretAccessKey = DistinctSecret;

        var error = await PutExpectingFailureAsync(options);

        Assert.Equal(ImageStoreFailure.Unreachable, error.Failure);
        Assert.Contains("127.0.0.1", error.Message);
        AssertNoSecret(error);
    }

    [Fact]
    public async Task PutAsync_ServerThatNeverAnswers_FailsAsTimedOut()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var accepted = new List<Socket>();
        using var stop = new CancellationTokenSource();
        var acceptLoop = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                accepted.Add(await silent.AcceptSocketAsync(stop.Token));
            }
        });
        var options = server.Options;
        options.Endpoint = new Uri($"https://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}/");
        options.RequestTimeout = TimeSpan.FromMilliseconds(500);

        try
        {
            var error = await PutExpectingFailureAsync(options);

            Assert.Equal(ImageStoreFailure.TimedOut, error.Failure);
            Assert.NotEmpty(accepted);
        }
        finally
        {
            await stop.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => acceptLoop);
            accepted.ForEach(socket => socket.Dispose());
        }
    }

    [Fact]
    public async Task PutAsync_CallerCancels_ThrowsOperationCanceledUnwrapped()
    {
        using var store = new R2ImageStore(server.Options, _logger);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.PutAsync($"generations/c/j{Guid.NewGuid():N}/0.png", Bytes, "image/png", cancelled.Token));
    }

    [Fact]
    public void Constructor_PlainHttpEndpoint_IsRefused()
    {
        var options = server.Options;
        options.Endpoint = new Uri("http://127.0.0.1:9/");

        var error = Assert.Throws<ArgumentException>(() => new R2ImageStore(options, _logger));

        Assert.Contains("https", error.Message);
    }

    [Theory]
    [InlineData(nameof(StorageOptions.Bucket), "R2_BUCKET")]
    [InlineData(nameof(StorageOptions.AccessKeyId), "R2_ACCESS_KEY_ID")]
    [InlineData(nameof(StorageOptions.SecretAccessKey), "R2_SECRET_ACCESS_KEY")]
    [InlineData(nameof(StorageOptions.PublicUrl), "R2_PUBLIC_URL")]
    public void Constructor_MissingSetting_NamesTheVariable(string property, string variable)
    {
        var options = server.Options;
        typeof(StorageOptions).GetProperty(property)!.SetValue(options, "");

        var error = Assert.Throws<ArgumentException>(() => new R2ImageStore(options, _logger));

        Assert.Contains(variable, error.Message);
    }

    [Fact]
    public void Constructor_NoEndpointAndNoAccountId_NamesTheVariables()
    {
        var options = server.Options;
        options.Endpoint = null;
        options.AccountId = null;

        var error = Assert.Throws<ArgumentException>(() => new R2ImageStore(options, _logger));

        Assert.Contains("R2_ACCOUNT_ID", error.Message);
    }

    private async Task<ImageStoreException> PutExpectingFailureAsync(StorageOptions options)
    {
        using var store = new R2ImageStore(options, _logger);
        var key = $"generations/client_fail/job_{Guid.NewGuid():N}/0.png";

        var error = await Assert.ThrowsAsync<ImageStoreException>(() => store.PutAsync(key, Bytes, "image/png"));

        Assert.Equal(key, error.Key);
        Assert.Contains(key, error.Message);
        return error;
    }

    private void AssertNoSecret(ImageStoreException error)
    {
        Assert.DoesNotContain(DistinctSecret, error.ToString());
        Assert.NotEmpty(_logger.Entries);
        Assert.DoesNotContain(DistinctSecret, _logger.AllText);
        Assert.DoesNotContain("X-Amz-Signature", _logger.AllText);
    }

    private static int UnusedLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
