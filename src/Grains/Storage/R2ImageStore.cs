using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Storage;

/// <summary>
/// Stores images in Cloudflare R2 (or any S3-compatible store) through AWSSDK.S3, with single unsigned-payload PUTs
/// that carry an exact Content-Length and no checksum headers or trailers.
/// </summary>
/// <remarks>
/// R2 implements neither the SDK's streaming SigV4 uploads (<c>aws-chunked</c>) nor its trailing checksums, and an
/// S3 emulator that ignores them stores the chunk framing as the object's bytes. Hence: checksums only when required,
/// payload signing off (which the SDK allows over HTTPS only), no multipart.
/// </remarks>
public sealed partial class R2ImageStore : IImageStore, IDisposable
{
    private readonly AmazonS3Client _client;
    private readonly StorageOptions _options;
    private readonly ILogger<R2ImageStore> _logger;
    private readonly string _endpointName;

    /// <summary>Creates the store from <paramref name="options"/> (endpoint, bucket, credentials, public URL).</summary>
    /// <exception cref="ArgumentException">A required setting is missing or the endpoint is not HTTPS.</exception>
    public R2ImageStore(StorageOptions options, ILogger<R2ImageStore> logger)
        : this(options, logger, configure: null)
    {
    }

    /// <summary>Creates the store, letting <paramref name="configure"/> adjust the S3 client's settings last.</summary>
    internal R2ImageStore(StorageOptions options, ILogger<R2ImageStore> logger, Action<AmazonS3Config>? configure)
    {
        Require(options.Bucket, "R2_BUCKET");
        Require(options.AccessKeyId, "R2_ACCESS_KEY_ID");
        Require(options.SecretAccessKey, "R2_SECRET_ACCESS_KEY");
        Require(options.PublicUrl, "R2_PUBLIC_URL");
        var endpoint = options.Endpoint is null && string.IsNullOrWhiteSpace(options.AccountId)
            ? throw new ArgumentException("Set R2_ACCOUNT_ID (or R2_ENDPOINT) to reach the image store.", nameof(options))
            : options.ResolvedEndpoint;
        if (endpoint.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException(
                $"R2_ENDPOINT must be an https URL (uploads are sent with unsigned payloads, which need TLS): {endpoint.GetLeftPart(UriPartial.Authority)}",
                nameof(options));
        }

        _options = options;
        _logger = logger;
        _endpointName = endpoint.GetLeftPart(UriPartial.Authority);
        var config = CreateConfig(options);
        configure?.Invoke(config);
        _client = new AmazonS3Client(new BasicAWSCredentials(options.AccessKeyId, options.SecretAccessKey), config);
    }

    /// <summary>The S3 client settings R2 needs (see the class remarks).</summary>
    internal static AmazonS3Config CreateConfig(StorageOptions options) => new()
    {
        ServiceURL = options.ResolvedEndpoint.ToString(),
        AuthenticationRegion = "auto",
        ForcePathStyle = true,
        RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        Timeout = options.RequestTimeout,
    };

    /// <inheritdoc />
    /// <exception cref="ImageStoreException">The store refused the upload or could not be reached.</exception>
    public async Task<string> PutAsync(string key, Stream content, string contentType, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(content);
        ArgumentException.ThrowIfNullOrEmpty(contentType);
        if (!content.CanRead || !content.CanSeek)
        {
            // A seekable stream has a known length (one PUT with an exact Content-Length, never aws-chunked) and can be
            // rewound by the SDK's own retries.
            throw new ArgumentException("The content must be a readable, seekable stream.", nameof(content));
        }

        var length = content.Length - content.Position;
        var request = new PutObjectRequest
        {
            BucketName = _options.Bucket,
            Key = key,
            InputStream = content,
            AutoCloseStream = false,
            ContentType = contentType,
            DisablePayloadSigning = true,
            DisableDefaultChecksumValidation = true,
        };
        request.Headers.CacheControl = ObjectKeys.CacheControl;

        try
        {
            await _client.PutObjectAsync(request, cancellationToken);
        }
        catch (Exception e) when (Classify(e, cancellationToken) is { } failure)
        {
            var (kind, detail) = failure;
            LogStoreFailed(_logger, key, _options.Bucket, kind, detail);
            throw new ImageStoreException(
                kind, key, $"Storing '{key}' in bucket '{_options.Bucket}' at {_endpointName} failed ({kind}): {detail}", e);
        }

        LogStored(_logger, key, length, contentType);
        return PublicUrl(key);
    }

    /// <inheritdoc />
    public string PublicUrl(string key) => ObjectKeys.PublicUrl(_options.PublicUrl, key);

    /// <inheritdoc />
    public void Dispose() => _client.Dispose();

    /// <summary>What a failed upload means, or null for the caller's own cancellation (which propagates as is).</summary>
    private static (ImageStoreFailure Kind, string Detail)? Classify(Exception e, CancellationToken cancellationToken)
    {
        if (e is OperationCanceledException && cancellationToken.IsCancellationRequested)
        {
            return null;
        }

        return e switch
        {
            AmazonServiceException { ErrorCode: "NoSuchBucket" } s => (ImageStoreFailure.BucketNotFound, Describe(s)),
            AmazonServiceException { StatusCode: HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden } s =>
                (ImageStoreFailure.AccessDenied, Describe(s)),
            AmazonServiceException s => (ImageStoreFailure.Rejected, Describe(s)),
            TimeoutException or OperationCanceledException => (ImageStoreFailure.TimedOut, e.Message),
            HttpRequestException or AmazonClientException or IOException => (ImageStoreFailure.Unreachable, Innermost(e)),
            _ => null,
        };
    }

    private static string Describe(AmazonServiceException e) =>
        $"{e.ErrorCode ?? "error"} (HTTP {(int)e.StatusCode}): {e.Message}";

    private static string Innermost(Exception e)
    {
        var message = e.Message;
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            message += " -> " + inner.Message;
        }

        return message;
    }

    private static void Require(string value, string variable)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new ArgumentException($"Set {variable} to use the R2 image store.", "options");
        }
    }
}
