using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Storage;

/// <summary>
/// Stores images as files under <see cref="StorageOptions.LocalDirectory"/>, served by the host under
/// <see cref="StorageOptions.PublicUrl"/> (for development and single-machine setups).
/// </summary>
/// <remarks>
/// Each file is written to a hidden temporary file in the target folder and then renamed over the target, so a reader
/// sees either the old file or the whole new one, never part of it. Keys must stay inside the directory: see
/// <see cref="ResolvePath"/>.
/// </remarks>
public sealed partial class LocalImageStore : IImageStore
{
    private readonly StorageOptions _options;
    private readonly ILogger<LocalImageStore> _logger;

    /// <summary>Creates the store; the directory is resolved against the current directory and created on first write.</summary>
    /// <exception cref="ArgumentException"><see cref="StorageOptions.LocalDirectory"/> or <see cref="StorageOptions.PublicUrl"/> is empty.</exception>
    public LocalImageStore(StorageOptions options, ILogger<LocalImageStore> logger)
    {
        if (string.IsNullOrWhiteSpace(options.LocalDirectory))
        {
            throw new ArgumentException("Set LOCAL_STORAGE_DIR to use the local image store.", nameof(options));
        }

        if (string.IsNullOrWhiteSpace(options.PublicUrl))
        {
            throw new ArgumentException("Set R2_PUBLIC_URL to the URL the host serves /files under.", nameof(options));
        }

        _options = options;
        _logger = logger;
        RootDirectory = Path.GetFullPath(options.LocalDirectory);
    }

    /// <summary>The absolute directory the files are written under.</summary>
    public string RootDirectory { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="key"/> would leave the directory (see <see cref="ResolvePath"/>).</exception>
    /// <exception cref="ImageStoreException">The file could not be written.</exception>
    public async Task<string> PutAsync(string key, Stream content, string contentType, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var path = ResolvePath(RootDirectory, key)
            ?? throw new ArgumentException($"The key '{key}' does not name a file inside the storage directory.", nameof(key));
        var directory = Path.GetDirectoryName(path)!;
        var temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        long length;
        try
        {
            Directory.CreateDirectory(directory);
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1, FileOptions.Asynchronous))
            {
                await content.CopyToAsync(file, cancellationToken);
                file.Flush(flushToDisk: true);
                length = file.Length;
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temporary);
            LogStoreFailed(_logger, key, e.Message);
            throw new ImageStoreException(ImageStoreFailure.WriteFailed, key, $"Storing '{key}' under {RootDirectory} failed: {e.Message}", e);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }

        LogStored(_logger, key, length, contentType);
        return PublicUrl(key);
    }

    /// <inheritdoc />
    public string PublicUrl(string key) => ObjectKeys.PublicUrl(_options.PublicUrl, key);

    /// <summary>
    /// The absolute path of <paramref name="key"/> under <paramref name="rootDirectory"/>, or null when the key is not
    /// a plain relative path inside it: empty, absolute, with a backslash or NUL, or with a segment that is empty or
    /// starts with '.' (which rules out <c>.</c>, <c>..</c> and the store's hidden temporary files).
    /// </summary>
    public static string? ResolvePath(string rootDirectory, string key)
    {
        if (string.IsNullOrEmpty(key) || key.Contains('\\') || key.Contains('\0') || Path.IsPathRooted(key))
        {
            return null;
        }

        foreach (var segment in key.Split('/'))
        {
            if (segment.Length == 0 || segment[0] == '.')
            {
                return null;
            }
        }

        var root = Path.GetFullPath(rootDirectory);
        var path = Path.GetFullPath(Path.Combine(root, key));
        return path.StartsWith(Path.TrimEndingDirectorySeparator(root) + Path.DirectorySeparatorChar, StringComparison.Ordinal)
            ? path
            : null;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: a leftover hidden temporary file is never served.
        }
        catch (UnauthorizedAccessException)
        {
            // As above.
        }
    }
}
