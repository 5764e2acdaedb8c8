namespace GenerationWorker.Grains.Storage;

/// <summary>
/// Checks that the image store takes writes: stores a small object at <see cref="Key"/> (overwritten by every probe), so
/// a missing bucket, refused credentials or an endpoint that is no S3 store show at start-up, not at the first job.
/// </summary>
public static class ImageStoreProbe
{
    /// <summary>The key of the probe object.</summary>
    public const string Key = "_generation-worker/probe.txt";

    /// <summary>Writes the probe object; null when the store took it, otherwise the failure.</summary>
    /// <param name="store">The store to probe.</param>
    /// <param name="timeout">How long to wait for the answer.</param>
    /// <param name="cancellationToken">Cancels the probe.</param>
    public static async Task<ImageStoreException?> ProbeAsync(IImageStore store, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            using var content = new MemoryStream("generation worker probe"u8.ToArray());
            await store.PutAsync(Key, content, "text/plain", limit.Token);
            return null;
        }
        catch (ImageStoreException exception)
        {
            return exception;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new ImageStoreException(ImageStoreFailure.TimedOut, Key, $"the image store did not answer within {timeout.TotalSeconds:0} s");
        }
    }

    /// <summary>
    /// True when <paramref name="failure"/> is the store's definite answer (no such bucket, access denied, an endpoint
    /// that answers as no S3 store does, a directory that cannot be written): waiting does not change it.
    /// </summary>
    public static bool IsDefinite(ImageStoreFailure failure) =>
        failure is ImageStoreFailure.BucketNotFound or ImageStoreFailure.AccessDenied or ImageStoreFailure.Rejected
            or ImageStoreFailure.WriteFailed;

    /// <summary>The environment variable a definite <paramref name="failure"/> asks to fix.</summary>
    public static string Variable(ImageStoreFailure failure, StorageOptions options) => failure switch
    {
        ImageStoreFailure.BucketNotFound => "R2_BUCKET",
        ImageStoreFailure.AccessDenied => "R2_ACCESS_KEY_ID",
        ImageStoreFailure.WriteFailed => "LOCAL_STORAGE_DIR",
        _ => options.Endpoint is null ? "R2_ACCOUNT_ID" : "R2_ENDPOINT",
    };
}
