using System.Diagnostics.CodeAnalysis;
using GenerationWorker.Grains.Configuration;

namespace GenerationWorker.Grains.Jobs;

/// <summary>
/// A reference image as a payload names it: an http(s) URL to download, an inline <c>data:image/...;base64,</c> URL,
/// or a path of the web app (<c>/api/...</c>) resolved against <c>NEXT_PUBLIC_APP_URL</c>.
/// </summary>
/// <remarks>
/// A closed union: <see cref="Remote"/>, <see cref="Inline"/> or <see cref="AppRelative"/>. Anything else
/// (<c>javascript:</c>, <c>file:</c>, <c>ftp:</c>, a protocol-relative <c>//host/...</c>, a bare path) is refused by
/// <c>TryParse</c>, so a job naming it fails at once without retry.
/// </remarks>
public abstract record ImageReference
{
    private ImageReference()
    {
    }

    /// <summary>An http(s) URL, downloaded under the address rule of <see cref="ReferenceImageFetcher"/>.</summary>
    /// <param name="Url">The absolute URL.</param>
    public sealed record Remote(Uri Url) : ImageReference
    {
        /// <inheritdoc />
        public override string ToString() => ReferenceImageFetcher.Describe(Url);
    }

    /// <summary>An image carried in the payload itself (a data URL), already decoded and checked to be an image.</summary>
    /// <param name="Bytes">The image's bytes (at most <see cref="WorkerOptions.DefaultMaxImageBytes"/>).</param>
    /// <param name="MimeType">The MIME type recognised from the bytes (not the one the data URL declares).</param>
    public sealed record Inline(byte[] Bytes, string MimeType) : ImageReference
    {
        /// <inheritdoc />
        /// <remarks>Never the bytes: logs and errors show only the type and the size.</remarks>
        public override string ToString() => $"data:{MimeType} ({Bytes.Length} bytes)";
    }

    /// <summary>A path of the web app, resolved against <c>NEXT_PUBLIC_APP_URL</c> when fetched.</summary>
    /// <param name="Path">The path, starting with a single <c>/</c> (query included).</param>
    public sealed record AppRelative(string Path) : ImageReference
    {
        /// <inheritdoc />
        public override string ToString() => Path.Split('?', 2)[0];
    }

    /// <summary>Reads a reference as a payload writes it, with the service's size limit (20 MB).</summary>
    /// <param name="text">The URL text.</param>
    /// <param name="reference">The reference, when the text is usable.</param>
    /// <param name="error">Why the text is refused (no URL and no image bytes in it), otherwise.</param>
    public static bool TryParse(
        string text, [NotNullWhen(true)] out ImageReference? reference, [NotNullWhen(false)] out string? error) =>
        TryParse(text, WorkerOptions.DefaultMaxImageBytes, out reference, out error);

    /// <summary>Reads a reference as a payload writes it.</summary>
    /// <param name="text">The URL text.</param>
    /// <param name="maxBytes">The largest inline image accepted, in bytes (the same limit as a download's).</param>
    /// <param name="reference">The reference, when the text is usable.</param>
    /// <param name="error">Why the text is refused, otherwise.</param>
    public static bool TryParse(
        string text, long maxBytes, [NotNullWhen(true)] out ImageReference? reference, [NotNullWhen(false)] out string? error)
    {
        reference = null;
        error = null;
        text = text.Trim();
        if (text.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            return TryParseDataUrl(text, maxBytes, out reference, out error);
        }

        if (text.StartsWith('/'))
        {
            // "//host/x" and "/\host/x" name another host; a browser reads both as protocol-relative.
            if (text.Length > 1 && text[1] is '/' or '\\')
            {
                error = "must be an http(s) URL, a data:image URL or an app path starting with a single '/'";
                return false;
            }

            if (text.Any(char.IsControl) || !Uri.TryCreate(text, UriKind.Relative, out _))
            {
                error = "is not a valid app path";
                return false;
            }

            reference = new AppRelative(text);
            return true;
        }

        if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            reference = new Remote(uri);
            return true;
        }

        error = "must be an http(s) URL, a data:image URL or an app path starting with '/'";
        return false;
    }

    private static bool TryParseDataUrl(string text, long maxBytes, out ImageReference? reference, out string? error)
    {
        reference = null;
        var comma = text.IndexOf(',', StringComparison.Ordinal);
        if (comma < 0)
        {
            error = "is a data URL without data";
            return false;
        }

        // data:<media type>[;param=value]*;base64,<data>
        var header = text[5..comma].Split(';');
        var mediaType = header[0].Trim();
        if (!mediaType.StartsWith("image/", StringComparison.OrdinalIgnoreCase))
        {
            error = $"is a data URL of {(mediaType.Length == 0 ? "no media type" : Shorten(mediaType))}, not of an image";
            return false;
        }

        if (!header[^1].Trim().Equals("base64", StringComparison.OrdinalIgnoreCase))
        {
            error = "is a data URL that is not base64-encoded (expected data:image/...;base64,...)";
            return false;
        }

        var data = text.AsSpan(comma + 1);
        var limitMb = maxBytes / (1024 * 1024);
        // Base64 carries 3 bytes in 4 characters: refuse what cannot fit before decoding it.
        if ((long)data.Length / 4 * 3 > maxBytes + 3)
        {
            error = $"is an inline image larger than {limitMb} MB";
            return false;
        }

        var bytes = new byte[data.Length / 4 * 3 + 3];
        if (!Convert.TryFromBase64Chars(data, bytes, out var written))
        {
            error = "is a data URL whose base64 data is malformed";
            return false;
        }

        if (written > maxBytes)
        {
            error = $"is an inline image larger than {limitMb} MB";
            return false;
        }

        bytes = bytes[..written];
        if (ImageFormats.Sniff(bytes) is not { } mime)
        {
            error = $"is a data URL that is not an image (declared {Shorten(mediaType)})";
            return false;
        }

        reference = new Inline(bytes, mime);
        error = null;
        return true;
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
