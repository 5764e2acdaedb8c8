using System.Text;

namespace GenerationWorker.Grains.Storage;

/// <summary>
/// The storage keys of generated images: <c>generations/{clientId}/{jobId}/{n}.{ext}</c>, one per job and variant, so a
/// retried upload overwrites the same object instead of adding another.
/// </summary>
/// <remarks>
/// Client and job ids come from the web app and are used as one path segment each. Every character other than ASCII
/// letters, digits, <c>-</c> and <c>_</c> is percent-encoded (UTF-8 bytes, upper-case hex), so an id can never add a
/// segment (<c>/</c>), climb out of its folder (<c>..</c>) or carry spaces and control characters into a URL, and two
/// different ids never share a key. Ids made of letters, digits, <c>-</c> and <c>_</c> (such as <c>job_abc123</c> or a
/// UUID) are kept as they are. The encoding is a pure function of the id: the same id always gives the same key.
/// Ids are not Unicode-normalised: two spellings of one name are two tenants, as they are in the database.
/// </remarks>
public static class ObjectKeys
{
    /// <summary>The folder under which every generated image is stored.</summary>
    public const string Prefix = "generations";

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
    ];

    /// <summary>The key of variant <paramref name="variantIndex"/> (0-based) of a job's images.</summary>
    /// <param name="clientId">The job's <c>client_id</c> (any non-empty text; encoded, see remarks).</param>
    /// <param name="jobId">The job's <c>id</c> (any non-empty text; encoded, see remarks).</param>
    /// <param name="variantIndex">The variant's index, from 0.</param>
    /// <param name="contentType">The image's MIME type; it picks the file extension (see <see cref="ExtensionFor"/>).</param>
    /// <exception cref="ArgumentException">An id is empty or not valid UTF-16, or the key would exceed <see cref="MaxKeyLength"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="variantIndex"/> is negative.</exception>
    public static string ForVariant(string clientId, string jobId, int variantIndex, string contentType)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(variantIndex);
        var key = $"{Prefix}/{EscapeSegment(clientId, nameof(clientId))}/{EscapeSegment(jobId, nameof(jobId))}/{variantIndex}.{ExtensionFor(contentType)}";
        if (key.Length > MaxKeyLength)
        {
            throw new ArgumentException($"The storage key would be {key.Length} bytes long; at most {MaxKeyLength} are allowed.", nameof(jobId));
        }

        return key;
    }

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
