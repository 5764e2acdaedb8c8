using System.Text;

namespace GenerationWorker.Grains.Storage;

/// <summary>
/// The storage keys of generated files, as the web app reads and rebuilds them:
/// <c>clients/{clientId}/generations/{flowId | sessionId | adhoc}/assets/{assetId}.webp</c> for display,
/// <c>.../assets/{assetId}_original.png</c> for the original (the app's downloads rebuild this key from the asset id),
/// <c>.../assets/{assetId}.mp4</c> for a video, and <c>{tempStoragePrefix}rev_{unique}.webp</c> for an edit preview.
/// A key names one job's file for good, so a retried upload overwrites the same object instead of adding another.
/// </summary>
/// <remarks>
/// Ids come from the web app and are used as one path segment each. Every character other than ASCII letters, digits,
/// <c>-</c> and <c>_</c> is percent-encoded (UTF-8 bytes, upper-case hex), so an id can never add a segment
/// (<c>/</c>), climb out of its folder (<c>..</c>) or carry spaces and control characters into a URL, and two different
/// ids never share a key. Ids made of letters, digits, <c>-</c> and <c>_</c> (such as <c>job_abc123</c>, a cuid or a
/// UUID) are kept as they are. The encoding is a pure function of the id: the same id always gives the same key.
/// Ids are not Unicode-normalised: two spellings of one name are two tenants, as they are in the database.
/// </remarks>
public static class ObjectKeys
{
    /// <summary>The folder under which every client's generated files are stored.</summary>
    public const string Prefix = "clients";

    /// <summary>The folder of a job with neither a flow nor a session.</summary>
    public const string AdHocGroup = "adhoc";

    /// <summary>Where the app's edit previews must go: <c>tmp/edit-sessions/{clientId}/</c>.</summary>
    public const string EditSessionsPrefix = "tmp/edit-sessions/";

    /// <summary>The longest key S3 and R2 accept, in UTF-8 bytes.</summary>
    public const int MaxKeyLength = 1024;

    /// <summary>
    /// The Cache-Control images are stored and served with: a key names one job's variant for good, so caches may keep
    /// it for a year.
    /// </summary>
    public const string CacheControl = "public, max-age=31536000, immutable";

    private const string HexDigits = "0123456789ABCDEF";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static readonly (string MediaType, string Extension)[] KnownTypes =
    [
        ("image/png", "png"),
        ("image/jpeg", "jpg"),
        ("image/webp", "webp"),
        ("image/gif", "gif"),
        ("video/mp4", "mp4"),
    ];

    /// <summary>
    /// The folder of a job's assets: <c>clients/{clientId}/generations/{group}/assets</c>, the group being the job's flow,
    /// else its session, else <c>adhoc</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The client id is empty or not valid UTF-16.</exception>
    public static string AssetFolder(string clientId, string? flowId, string? sessionId)
    {
        var group = !string.IsNullOrEmpty(flowId) ? flowId : !string.IsNullOrEmpty(sessionId) ? sessionId : AdHocGroup;
        return $"{Prefix}/{EscapeSegment(clientId, nameof(clientId))}/generations/{EscapeSegment(group, nameof(flowId))}/assets";
    }

    /// <summary>The key of an asset's display file: <c>{folder}/{assetId}.{extension}</c> (<c>webp</c>, or <c>mp4</c>).</summary>
    /// <exception cref="ArgumentException">An id is empty or not valid UTF-16, or the key would exceed <see cref="MaxKeyLength"/>.</exception>
    public static string ForAsset(string folder, string assetId, string extension) =>
        Checked($"{folder}/{EscapeSegment(assetId, nameof(assetId))}.{extension}");

    /// <summary>The key of an asset's original: <c>{folder}/{assetId}_original.png</c>.</summary>
    /// <exception cref="ArgumentException">An id is empty or not valid UTF-16, or the key would exceed <see cref="MaxKeyLength"/>.</exception>
    public static string ForOriginal(string folder, string assetId) =>
        Checked($"{folder}/{EscapeSegment(assetId, nameof(assetId))}_original.png");

    /// <summary>
    /// The key of an edit preview: <c>{tempStoragePrefix}rev_{unique}.webp</c>, when the prefix lies under
    /// <c>tmp/edit-sessions/{clientId}/</c> (letters, digits, <c>-</c>, <c>_</c> and <c>.</c> in each folder name; no
    /// empty, <c>.</c> or <c>..</c> folder); null otherwise.
    /// </summary>
    /// <param name="prefix">The payload's <c>tempStoragePrefix</c> (a trailing <c>/</c> is added when missing).</param>
    /// <param name="clientId">The job's client id, which must be the prefix's third folder as it is.</param>
    /// <param name="unique">What makes the key the job's own (letters, digits, <c>-</c>, <c>_</c>).</param>
    public static string? ForEditPreview(string prefix, string clientId, string unique)
    {
        var folder = prefix.EndsWith('/') ? prefix : prefix + "/";
        var segments = folder[..^1].Split('/');
        var safe = segments.All(segment => segment.Length > 0 && segment != "." && segment != ".."
                                           && segment.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'));
        if (!safe || segments.Length < 3 || !folder.StartsWith(EditSessionsPrefix, StringComparison.Ordinal)
            || segments[2] != clientId)
        {
            return null;
        }

        var key = $"{folder}rev_{EscapeSegment(unique, nameof(unique))}.webp";
        return key.Length > MaxKeyLength ? null : key;
    }

    private static string Checked(string key) =>
        key.Length > MaxKeyLength
            ? throw new ArgumentException($"The storage key would be {key.Length} bytes long; at most {MaxKeyLength} are allowed.", nameof(key))
            : key;

    /// <summary>
    /// The file extension for a MIME type (parameters and case ignored): <c>png</c>, <c>jpg</c> (image/jpeg),
    /// <c>webp</c>, <c>gif</c>; <c>bin</c> for anything else.
    /// </summary>
    public static string ExtensionFor(string contentType)
    {
        var mediaType = contentType.Split(';', 2)[0].Trim();
        foreach (var (known, extension) in KnownTypes)
        {
            if (string.Equals(known, mediaType, StringComparison.OrdinalIgnoreCase))
            {
                return extension;
            }
        }

        return "bin";
    }

    /// <summary>
    /// The MIME type to serve a stored file with, from its key's extension (the inverse of <see cref="ExtensionFor"/>;
    /// <c>jpeg</c> too); <c>application/octet-stream</c> for anything else.
    /// </summary>
    public static string ContentTypeFor(string key)
    {
        var extension = Path.GetExtension(key).TrimStart('.');
        if (string.Equals(extension, "jpeg", StringComparison.OrdinalIgnoreCase))
        {
            return "image/jpeg";
        }

        foreach (var (mediaType, known) in KnownTypes)
        {
            if (string.Equals(known, extension, StringComparison.OrdinalIgnoreCase))
            {
                return mediaType;
            }
        }

        return "application/octet-stream";
    }

    /// <summary>
    /// The key as a URL path: each segment URL-escaped, so the URL names exactly this key once the server decodes it.
    /// A no-op for keys made of letters, digits, <c>-</c>, <c>_</c>, <c>.</c> and <c>/</c>.
    /// </summary>
    public static string ToUrlPath(string key) => string.Join('/', key.Split('/').Select(Uri.EscapeDataString));

    /// <summary>The public URL of <paramref name="key"/> under <paramref name="publicBaseUrl"/> (trailing '/' ignored).</summary>
    public static string PublicUrl(string publicBaseUrl, string key) => publicBaseUrl.TrimEnd('/') + "/" + ToUrlPath(key);

    /// <summary>One id as one key segment: see the remarks of <see cref="ObjectKeys"/>.</summary>
    /// <exception cref="ArgumentException">The id is empty, or holds an unpaired surrogate (it has no UTF-8 form).</exception>
    public static string EscapeSegment(string id, string paramName = "id")
    {
        ArgumentException.ThrowIfNullOrEmpty(id, paramName);
        byte[] utf8;
        try
        {
            utf8 = StrictUtf8.GetBytes(id);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException("The id is not valid Unicode text.", paramName, e);
        }

        var escaped = new StringBuilder(utf8.Length);
        foreach (var b in utf8)
        {
            if (b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9')
                or (byte)'-' or (byte)'_')
            {
                escaped.Append((char)b);
            }
            else
            {
                escaped.Append('%').Append(HexDigits[b >> 4]).Append(HexDigits[b & 0xF]);
            }
        }

        return escaped.ToString();
    }
}
