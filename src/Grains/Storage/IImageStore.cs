namespace GenerationWorker.Grains.Storage;

/// <summary>Where generated images go: R2 (any S3-compatible store) or a local directory.</summary>
public interface IImageStore
{
    /// <summary>
    /// Stores the bytes of <paramref name="content"/>, from its current position to its end, under <paramref name="key"/>,
    /// overwriting what is there (keys are deterministic per job and variant, so a retried upload replaces instead of
    /// duplicating).
    /// </summary>
    /// <param name="key">The object key.</param>
    /// <param name="content">A readable, seekable stream: its length is the object's exact length, and a store may seek
    /// back to where it started to send it again. The caller keeps it and disposes it.</param>
    /// <param name="contentType">The MIME type stored with the object.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    /// <returns>The public URL of the stored object.</returns>
    Task<string> PutAsync(string key, Stream content, string contentType, CancellationToken cancellationToken = default);

    /// <summary>The public URL for <paramref name="key"/>: the public base URL + "/" + key.</summary>
    string PublicUrl(string key);
}
