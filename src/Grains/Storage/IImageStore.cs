namespace GenerationWorker.Grains.Storage;

/// <summary>Where generated images go: R2 (any S3-compatible store) or a local directory.</summary>
public interface IImageStore
{
    /// <summary>
    /// Stores <paramref name="bytes"/> under <paramref name="key"/>, overwriting what is there (keys are deterministic
    /// per job and variant, so a retried upload replaces instead of duplicating).
    /// </summary>
    /// <returns>The public URL of the stored object.</returns>
    Task<string> PutAsync(string key, ReadOnlyMemory<byte> bytes, string contentType, CancellationToken cancellationToken = default);

    /// <summary>The public URL for <paramref name="key"/>: the public base URL + "/" + key.</summary>
    string PublicUrl(string key);
}
