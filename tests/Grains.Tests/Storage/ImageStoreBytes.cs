using GenerationWorker.Grains.Storage;

namespace GenerationWorker.Grains.Tests.Storage;

/// <summary>Stores bytes through the stream API, as the worker stores a generated image.</summary>
public static class ImageStoreBytes
{
    public static async Task<string> PutAsync(
        this IImageStore store, string key, ReadOnlyMemory<byte> bytes, string contentType, CancellationToken cancellationToken = default)
    {
        await using var content = new MemoryStream(bytes.ToArray(), writable: false);
        return await store.PutAsync(key, content, contentType, cancellationToken);
    }
}
