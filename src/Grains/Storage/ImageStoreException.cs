namespace GenerationWorker.Grains.Storage;

/// <summary>
/// An image could not be stored. Every failure of the store (credentials, bucket, network, disk) is worth retrying
/// later: a job that meets one goes back to the queue; <see cref="Failure"/> says which kind it was.
/// </summary>
/// <remarks>The message names the store, bucket and key, never the secret key or a signed URL.</remarks>
public sealed class ImageStoreException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ImageStoreException(ImageStoreFailure failure, string key, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Failure = failure;
        Key = key;
    }

    /// <summary>What went wrong.</summary>
    public ImageStoreFailure Failure { get; }

    /// <summary>The key that was being written.</summary>
    public string Key { get; }
}

/// <summary>The kinds of <see cref="ImageStoreException"/>.</summary>
public enum ImageStoreFailure
{
    /// <summary>The store refused the credentials (unknown access key, wrong secret, access denied): HTTP 401/403.</summary>
    AccessDenied,

    /// <summary>The bucket does not exist: HTTP 404 <c>NoSuchBucket</c>.</summary>
    BucketNotFound,

    /// <summary>The store could not be reached: connection refused, name resolution, TLS handshake.</summary>
    Unreachable,

    /// <summary>The store did not answer in time.</summary>
    TimedOut,

    /// <summary>The store answered with another error status.</summary>
    Rejected,

    /// <summary>The local directory could not be written.</summary>
    WriteFailed,
}
