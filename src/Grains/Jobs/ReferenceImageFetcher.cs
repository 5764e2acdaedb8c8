using System.Net;
using System.Net.Sockets;
using GenerationWorker.Grains.Dispatch;
using GenerationWorker.Grains.Gemini;
using Microsoft.Extensions.Options;

namespace GenerationWorker.Grains.Jobs;

/// <summary>A reference image that cannot be used: the job fails with this message, without retry.</summary>
public sealed class ReferenceImageException(string message) : Exception(message);

/// <summary>
/// Downloads the images a job refers to (reference, inspiration and source images), refusing anything that is not an
/// image, larger than the limit, slow, or on a private, loopback or link-local address.
/// </summary>
/// <remarks>
/// The address rule is enforced where the connection is made (<see cref="SocketsHttpHandler.ConnectCallback"/>), after
/// DNS resolution and for every redirect hop, so a public name resolving to 127.0.0.1 or a redirect to the metadata
/// service is refused too.
/// </remarks>
public sealed class ReferenceImageFetcher(HttpClient httpClient, IOptions<WorkerOptions> options)
{
    private readonly WorkerOptions _options = options.Value;

    /// <summary>Builds the handler that enforces the address rule.</summary>
    public static SocketsHttpHandler CreateHandler(bool allowPrivate) => new()
    {
        AllowAutoRedirect = true,
        MaxAutomaticRedirections = 3,
        AutomaticDecompression = DecompressionMethods.None,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        ConnectCallback = async (context, cancellationToken) =>
        {
            var addresses = IPAddress.TryParse(context.DnsEndPoint.Host, out var literal)
                ? [literal]
                : await Dns.GetHostAddressesAsync(context.DnsEndPoint.Host, cancellationToken);
            var allowed = addresses.Where(address => allowPrivate || IsPublic(address)).ToArray();
            if (allowed.Length == 0)
            {
                throw new ReferenceImageException(
                    $"host {context.DnsEndPoint.Host} resolves to a private, loopback or link-local address");
            }

            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };

    /// <summary>True for addresses on the public internet.</summary>
    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)
            || address.Equals(IPAddress.Broadcast))
        {
            return false;
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return !(b[0] == 10 || b[0] == 0 || b[0] >= 224
                     || (b[0] == 172 && b[1] >= 16 && b[1] <= 31)
                     || (b[0] == 192 && b[1] == 168)
                     || (b[0] == 169 && b[1] == 254)
                     || (b[0] == 100 && b[1] >= 64 && b[1] <= 127));
        }

        var bytes = address.GetAddressBytes();
        return !(address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast
                 || (bytes[0] & 0xFE) == 0xFC);
    }

    /// <summary>Downloads the images of <paramref name="references"/>, in their order.</summary>
    /// <exception cref="ReferenceImageException">A reference cannot be used; the message says why.</exception>
    public async Task<IReadOnlyList<InputImage>> FetchAllAsync(IReadOnlyList<string> references, CancellationToken cancellationToken) =>
        references.Count == 0 ? [] : await Task.WhenAll(references.Select(reference => FetchAsync(new Uri(reference), cancellationToken)));

    /// <summary>Downloads one image.</summary>
    /// <exception cref="ReferenceImageException">The URL cannot be used; the message says why.</exception>
    public async Task<InputImage> FetchAsync(Uri url, CancellationToken cancellationToken)
    {
        var shown = Describe(url);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.ImageFetchTimeout);
        try
        {
            using var response = await httpClient.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                throw new ReferenceImageException($"image {shown} answered HTTP {(int)response.StatusCode}");
            }

            if (response.Content.Headers.ContentLength > _options.MaxImageBytes)
            {
                throw new ReferenceImageException($"image {shown} is larger than {_options.MaxImageBytes / (1024 * 1024)} MB");
            }

            await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token);
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int read;
            while ((read = await stream.ReadAsync(chunk, timeout.Token)) > 0)
            {
                if (buffer.Length + read > _options.MaxImageBytes)
                {
                    throw new ReferenceImageException($"image {shown} is larger than {_options.MaxImageBytes / (1024 * 1024)} MB");
                }

                buffer.Write(chunk, 0, read);
            }

            var bytes = buffer.ToArray();
            var mime = ImageFormats.Sniff(bytes)
                ?? throw new ReferenceImageException(
                    $"{shown} is not an image (content type {response.Content.Headers.ContentType?.MediaType ?? "none"})");
            return new InputImage(bytes, mime);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ReferenceImageException($"image {shown} did not download within {_options.ImageFetchTimeout.TotalSeconds:0} s");
        }
        catch (HttpRequestException exception)
        {
            var reason = exception.InnerException as ReferenceImageException ?? FindReason(exception);
            throw reason ?? new ReferenceImageException($"image {shown} is unreachable ({exception.HttpRequestError})");
        }
    }

    /// <summary>A URL as it may appear in errors and logs: no query (signed URLs carry credentials there).</summary>
    public static string Describe(Uri url) => $"{url.Scheme}://{url.Authority}{url.AbsolutePath}";

    private static ReferenceImageException? FindReason(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is ReferenceImageException reason)
            {
                return reason;
            }
        }

        return null;
    }
}

/// <summary>Recognises image formats by their first bytes.</summary>
public static class ImageFormats
{
    /// <summary>The MIME type of a PNG, JPEG, WebP or GIF image, or null when the bytes are none of these.</summary>
    public static string? Sniff(ReadOnlySpan<byte> bytes)
    {
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        {
            return "image/png";
        }

        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]))
        {
            return "image/jpeg";
        }

        if (bytes.Length >= 12 && bytes[..4].SequenceEqual("RIFF"u8) && bytes[8..12].SequenceEqual("WEBP"u8))
        {
            return "image/webp";
        }

        return bytes.StartsWith("GIF87a"u8) || bytes.StartsWith("GIF89a"u8) ? "image/gif" : null;
    }
}
