using GenerationWorker.Grains.Configuration;

namespace GenerationWorker.Grains.Storage;

/// <summary>Which image store to use and how to reach it. Each setting's variable, default and range are in <see cref="Settings"/>.</summary>
public sealed class StorageOptions
{
    /// <summary><see cref="Settings.Storage"/>: <c>r2</c> or <c>local</c>.</summary>
    public StorageKind Kind { get; set; } = Settings.Storage.Default;

    /// <summary><see cref="Settings.R2AccountId"/>: builds the endpoint <c>https://{id}.r2.cloudflarestorage.com</c>.</summary>
    public string? AccountId { get; set; }

    /// <summary><see cref="Settings.R2Endpoint"/>: overrides the endpoint built from the account id (any S3-compatible store).</summary>
    public Uri? Endpoint { get; set; }

    /// <summary><see cref="Settings.R2AccessKeyId"/>.</summary>
    public string AccessKeyId { get; set; } = "";

    /// <summary><see cref="Settings.R2SecretAccessKey"/> (never logged).</summary>
    public string SecretAccessKey { get; set; } = "";

    /// <summary><see cref="Settings.R2Bucket"/>.</summary>
    public string Bucket { get; set; } = "";

    /// <summary>
    /// The base of the public URLs written to results: <see cref="Settings.CdnUrl"/> when set, else
    /// <see cref="Settings.R2PublicUrl"/> (for local
    /// storage, else the URL the host serves files under).
    /// </summary>
    public string PublicUrl { get; set; } = "";

    /// <summary><see cref="Settings.LocalStorageDirectory"/>: where local storage writes.</summary>
    public string LocalDirectory { get; set; } = Settings.LocalStorageDirectory.Default!;

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
