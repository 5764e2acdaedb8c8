using System.Net;
using System.Net.Sockets;
using GenerationWorker.Grains.Configuration;
using GenerationWorker.Grains.Gemini;
using Microsoft.Extensions.Options;

namespace GenerationWorker.Grains.Jobs;

/// <summary>A reference image that cannot be used: the job fails with this message, without retry.</summary>
public sealed class ReferenceImageException(string message) : Exception(message);

/// <summary>
/// A reference image that could not be fetched for now (no answer within the time limit, a connection failure, an
/// HTTP 5xx, 408 or 429 answer): the job is retried with its backoff, never failed for it while attempts remain.
/// </summary>
public sealed class TransientReferenceImageException(string message) : Exception(message);

/// <summary>
/// Fetches the images a job refers to (reference, inspiration and source images): downloads http(s) URLs and app paths
/// (resolved against <see cref="WorkerOptions.AppUrl"/>), returns inline data URLs as they are, and refuses anything
/// that is not an image, larger than the limit, or on a private, loopback or link-local address.
/// </summary>
/// <remarks>
/// The address rule is enforced where the connection is made (<see cref="SocketsHttpHandler.ConnectCallback"/>), after
/// DNS resolution and for every redirect hop, so a public name resolving to 127.0.0.1 or a redirect to the metadata
/// service is refused too. It applies to app paths as well: what is dialled is checked, whatever named it.
/// A job's images are downloaded <see cref="DownloadConcurrency"/> at a time, under a running total that stops at
/// <see cref="WorkerOptions.MaxImageBytes"/>, and each download's buffer is reserved in the silo's memory gate
/// (<see cref="GeminiGate"/>) while it is read: a job naming many large images costs a bounded amount of memory.
/// </remarks>
public sealed class ReferenceImageFetcher(HttpClient httpClient, IOptions<WorkerOptions> options, GeminiGate? gate = null)
{
    /// <summary>The most images of one job downloaded at once: 4.</summary>
    public const int DownloadConcurrency = 4;

    private readonly WorkerOptions _options = options.Value;

    /// <summary>Builds the handler that enforces the address rule.</summary>
    public static SocketsHttpHandler CreateHandler(bool allowPrivate) => new()
    {
        // A proxy would dial in the guard's place, and a cookie set by one job's server would go with another's request.
        UseProxy = false,
        UseCookies = false,
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

    /// <summary>
    /// True for addresses on the public internet: not in any of IANA's special-purpose ranges (private, loopback,
    /// link-local, shared, benchmarking, documentation, protocol assignments, NAT64, 6to4, Teredo, multicast, reserved)
    /// and not Azure's platform address 168.63.129.16. An IPv6 address must be global unicast (2000::/3).
    /// </summary>
    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        var bytes = address.GetAddressBytes();
        var ranges = address.AddressFamily == AddressFamily.InterNetwork ? SpecialV4 : SpecialV6;
        if (address.AddressFamily == AddressFamily.InterNetworkV6 && (bytes[0] & 0xE0) != 0x20)
        {
            return false;
        }

        return !ranges.Any(range => range.Contains(bytes));
    }

    private static readonly AddressRange[] SpecialV4 =
    [
        new("0.0.0.0", 8), new("10.0.0.0", 8), new("100.64.0.0", 10), new("127.0.0.0", 8), new("169.254.0.0", 16),
        new("172.16.0.0", 12), new("192.0.0.0", 24), new("192.0.2.0", 24), new("192.31.196.0", 24),
        new("192.52.193.0", 24), new("192.88.99.0", 24), new("192.168.0.0", 16), new("192.175.48.0", 24),
        new("198.18.0.0", 15), new("198.51.100.0", 24), new("203.0.113.0", 24), new("224.0.0.0", 4),
        new("240.0.0.0", 4), new("168.63.129.16", 32),
    ];

    // Within 2000::/3, the global unicast block: IETF protocol assignments (Teredo, benchmarking, ORCHID...),
    // documentation, 6to4 (which can carry a private IPv4 address), and the newer documentation and SRv6 blocks.
    private static readonly AddressRange[] SpecialV6 =
    [
        new("2001::", 23), new("2001:db8::", 32), new("2002::", 16), new("3fff::", 20),
    ];

    private sealed record AddressRange(byte[] Prefix, int Length)
    {
        public AddressRange(string prefix, int length)
            : this(IPAddress.Parse(prefix).GetAddressBytes(), length)
        {
        }

        public bool Contains(byte[] address)
        {
            if (address.Length != Prefix.Length)
            {
                return false;
            }

            var full = Length / 8;
            if (!address.AsSpan(0, full).SequenceEqual(Prefix.AsSpan(0, full)))
            {
                return false;
            }

            var rest = Length % 8;
            return rest == 0 || ((address[full] ^ Prefix[full]) & (0xFF << (8 - rest)) & 0xFF) == 0;
        }
    }

    /// <summary>
    /// Fetches the images of <paramref name="references"/>, in their order, <see cref="DownloadConcurrency"/> at a
    /// time, stopping at the first failure and as soon as their total passes <see cref="WorkerOptions.MaxImageBytes"/>.
    /// </summary>
    /// <exception cref="ReferenceImageException">A reference cannot be used, or the images together are larger than the
    /// limit; the message says why.</exception>
    /// <exception cref="TransientReferenceImageException">An image could not be fetched for now: retry later.</exception>
    public async Task<IReadOnlyList<InputImage>> FetchAllAsync(
        IReadOnlyList<ImageReference> references, CancellationToken cancellationToken)
    {
        if (references.Count == 0)
        {
            return [];
        }

        var images = new InputImage[references.Count];
        var total = new RunningTotal(_options.MaxImageBytes);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Exception? failure = null;
        var next = -1;
        async Task WorkAsync()
        {
            int index;
            while ((index = Interlocked.Increment(ref next)) < references.Count && !stop.IsCancellationRequested)
            {
                try
                {
                    images[index] = await FetchAsync(references[index], total, stop.Token);
                }
                catch (Exception exception) when (exception is not OperationCanceledException || !stop.IsCancellationRequested)
                {
                    Interlocked.CompareExchange(ref failure, exception, null);
                    await stop.CancelAsync();
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // Stopped by another download's failure, reported below.
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Math.Min(DownloadConcurrency, references.Count)).Select(_ => WorkAsync()));
        cancellationToken.ThrowIfCancellationRequested();
        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }

        return images;
    }

    /// <summary>Fetches one image: inline ones without the network, the others by downloading them.</summary>
    /// <exception cref="ReferenceImageException">The reference cannot be used; the message says why.</exception>
    /// <exception cref="TransientReferenceImageException">
    /// The image could not be fetched for now (timeout, connection failure, HTTP 5xx, 408 or 429): retry later.
    /// </exception>
    public Task<InputImage> FetchAsync(ImageReference reference, CancellationToken cancellationToken) =>
        FetchAsync(reference, new RunningTotal(_options.MaxImageBytes), cancellationToken);

    private async Task<InputImage> FetchAsync(ImageReference reference, RunningTotal total, CancellationToken cancellationToken)
    {
        switch (reference)
        {
            case ImageReference.Inline inline when inline.Bytes.Length > _options.MaxImageBytes:
                throw new ReferenceImageException($"inline image is larger than {_options.MaxImageBytes / (1024 * 1024)} MB");
            case ImageReference.Inline inline:
                total.Add(inline.Bytes.Length);
                return new InputImage(inline.Bytes, inline.MimeType);
            case ImageReference.Remote remote:
                return await DownloadAsync(remote.Url, total, cancellationToken);
            case ImageReference.AppRelative relative:
                return await DownloadAsync(Resolve(relative), total, cancellationToken);
            default:
                throw new ReferenceImageException("unknown kind of image reference " + reference.GetType().Name);
        }
    }

    /// <summary>The absolute URL of an app path, on the host of <see cref="WorkerOptions.AppUrl"/>.</summary>
    /// <exception cref="ReferenceImageException"><c>NEXT_PUBLIC_APP_URL</c> is not set, or the path leaves its host.</exception>
    public Uri Resolve(ImageReference.AppRelative reference)
    {
        if (_options.AppUrl is not { } app)
        {
            throw new ReferenceImageException(
                $"image {reference} is a path of the web app, and NEXT_PUBLIC_APP_URL is not set (set it to the app's http(s) URL)");
        }

        if (!Uri.TryCreate(app, reference.Path, out var url) || url.Authority != app.Authority || url.Scheme != app.Scheme)
        {
            throw new ReferenceImageException($"image {reference} is not a path on NEXT_PUBLIC_APP_URL's host");
        }

        return url;
    }

    private async Task<InputImage> DownloadAsync(Uri url, RunningTotal total, CancellationToken cancellationToken)
    {
        var shown = Describe(url);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.ImageFetchTimeout);
        try
        {
            using var response = await httpClient.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                var status = (int)response.StatusCode;
                // The server's trouble, or a limit of its own: it may well answer the next attempt.
                if (status >= 500 || status is 408 or 429)
                {
                    throw new TransientReferenceImageException($"image {shown} answered HTTP {status}");
                }

                throw new ReferenceImageException($"image {shown} answered HTTP {status}");
            }

            var length = response.Content.Headers.ContentLength;
            if (length > _options.MaxImageBytes)
            {
                throw new ReferenceImageException($"image {shown} is larger than {_options.MaxImageBytes / (1024 * 1024)} MB");
            }

            // The buffer (and, without a length, its growth and final copy) is held against the silo's memory budget.
            var reserved = length is { } known ? known : 3 * _options.MaxImageBytes;
            using var memory = gate is null ? null : await gate.ReserveMemoryAsync(reserved, timeout.Token);
            await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token);
            using var buffer = new MemoryStream(length is { } size ? (int)size : 0);
            var chunk = new byte[81920];
            int read;
            while ((read = await stream.ReadAsync(chunk, timeout.Token)) > 0)
            {
                if (buffer.Length + read > _options.MaxImageBytes)
                {
                    throw new ReferenceImageException($"image {shown} is larger than {_options.MaxImageBytes / (1024 * 1024)} MB");
                }

                total.Add(read);
                buffer.Write(chunk, 0, read);
            }

            var bytes = buffer.Length == buffer.Capacity ? buffer.GetBuffer() : buffer.ToArray();
            var mime = ImageFormats.Sniff(bytes)
                ?? throw new ReferenceImageException(
                    $"{shown} is not an image (content type {response.Content.Headers.ContentType?.MediaType ?? "none"})");
            return new InputImage(bytes, mime);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TransientReferenceImageException(
                $"image {shown} did not download within {_options.ImageFetchTimeout.TotalSeconds:0} s");
        }
        catch (HttpRequestException exception)
        {
            // A refused address is the rule's verdict, not the network's: permanent. Anything else is the network.
            var reason = exception.InnerException as ReferenceImageException ?? FindReason(exception);
            throw reason ?? (Exception)new TransientReferenceImageException($"image {shown} is unreachable ({exception.HttpRequestError})");
        }
        catch (IOException exception)
        {
            // The connection dropped while the body was read.
            throw new TransientReferenceImageException($"image {shown} is unreachable (the download broke off: {exception.GetType().Name})");
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

/// <summary>The bytes of a job's reference images so far, shared by its downloads; throws once past the limit.</summary>
internal sealed class RunningTotal(long limit)
{
    private long _bytes;

    /// <summary>Counts <paramref name="bytes"/> more.</summary>
    /// <exception cref="ReferenceImageException">The images together are larger than the limit.</exception>
    public void Add(long bytes)
    {
        if (Interlocked.Add(ref _bytes, bytes) > limit)
        {
            throw new ReferenceImageException($"reference images exceed {limit / (1024 * 1024)} MB in total");
        }
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
