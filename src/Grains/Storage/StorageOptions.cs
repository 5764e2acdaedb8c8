namespace GenerationWorker.Grains.Storage;

/// <summary>Which image store to use and how to reach it.</summary>
public sealed class StorageOptions
{
    /// <summary><c>STORAGE</c>: <c>r2</c> (default) or <c>local</c>.</summary>
    public StorageKind Kind { get; set; } = StorageKind.R2;

    /// <summary><c>R2_ACCOUNT_ID</c>: builds the endpoint <c>https://{id}.r2.cloudflarestorage.com</c>.</summary>
    public string? AccountId { get; set; }

    /// <summary><c>R2_ENDPOINT</c>: overrides the endpoint built from the account id (any S3-compatible store).</summary>
    public Uri? Endpoint { get; set; }

    /// <summary><c>R2_ACCESS_KEY_ID</c>.</summary>
    public string AccessKeyId { get; set; } = "";

    /// <summary><c>R2_SECRET_ACCESS_KEY</c> (never logged).</summary>
    public string SecretAccessKey { get; set; } = "";

    /// <summary><c>R2_BUCKET</c>.</summary>
    public string Bucket { get; set; } = "";

    /// <summary>
    /// The base of the public URLs written to results: <c>CDN_URL</c> when set, else <c>R2_PUBLIC_URL</c> (for local
    /// storage, else the URL the host serves files under).
    /// </summary>
    public string PublicUrl { get; set; } = "";

    /// <summary><c>LOCAL_STORAGE_DIR</c>: where local storage writes; default <c>.local/storage</c>.</summary>
    public string LocalDirectory { get; set; } = ".local/storage";

    /// <summary>
    /// How long one request to the S3 endpoint may take before it is abandoned (and retried by the S3 client, up to
    /// two more times); default 30 seconds.
    /// </summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The S3 endpoint to call: <see cref="Endpoint"/>, else the R2 endpoint of <see cref="AccountId"/>.</summary>
    public Uri ResolvedEndpoint => Endpoint ?? new Uri($"https://{AccountId}.r2.cloudflarestorage.com");
}

/// <summary>The kinds of image store.</summary>
public enum StorageKind
{
    /// <summary>Cloudflare R2 or any S3-compatible store, through AWSSDK.S3.</summary>
    R2,

    /// <summary>A local directory served by the host under <c>/files</c>.</summary>
    Local,
}
