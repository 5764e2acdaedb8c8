using GenerationWorker.Grains.Storage;

namespace GenerationWorker.Silo.Storage;

/// <summary>Serves the images of the local image store over HTTP.</summary>
public static class LocalFilesEndpoints
{
    /// <summary>
    /// When <paramref name="options"/> selects <see cref="StorageKind.Local"/>, serves the files under
    /// <see cref="StorageOptions.LocalDirectory"/> at <c>GET /files/{key}</c> with the Content-Type of their extension
    /// and the same Cache-Control as stored images. Missing files, directories and keys that would leave the directory
    /// answer 404; nothing is listed. With another kind nothing is mapped (so <c>/files</c> answers 404).
    /// </summary>
    public static IEndpointRouteBuilder MapLocalImageFiles(this IEndpointRouteBuilder app, StorageOptions options)
    {
        if (options.Kind != StorageKind.Local)
        {
            return app;
        }

        var root = Path.GetFullPath(options.LocalDirectory);
        app.MapGet("/files/{**key}", (string? key, HttpResponse response) =>
        {
            var path = key is null ? null : LocalImageStore.ResolvePath(root, key);
            if (path is null || !File.Exists(path))
            {
                return Results.NotFound();
            }

            response.Headers.CacheControl = ObjectKeys.CacheControl;
            return Results.File(path, ObjectKeys.ContentTypeFor(path), enableRangeProcessing: true);
        });
        return app;
    }
}
