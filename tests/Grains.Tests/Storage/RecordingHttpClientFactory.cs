using System.Collections.Concurrent;
using Amazon.Runtime;

namespace GenerationWorker.Grains.Tests.Storage;

/// <summary>One request as the S3 client handed it to the socket handler: method, URL and every header.</summary>
internal sealed record RecordedRequest(HttpMethod Method, Uri Uri, IReadOnlyDictionary<string, string> Headers, long? ContentLength, bool Chunked)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>
/// An S3 client HTTP factory that records each request on its way to a real <see cref="SocketsHttpHandler"/>:
/// what the server receives, headers included.
/// </summary>
internal sealed class RecordingHttpClientFactory : HttpClientFactory
{
    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    public override HttpClient CreateHttpClient(IClientConfig clientConfig)
    {
        var client = new HttpClient(new RecordingHandler(Requests) { InnerHandler = new SocketsHttpHandler() });
        if (clientConfig.Timeout is { } timeout)
        {
            client.Timeout = timeout;
        }

        return client;
    }

    public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => true;

    public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;

    private sealed class RecordingHandler(ConcurrentQueue<RecordedRequest> requests) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var (name, values) in request.Headers)
            {
                headers[name] = string.Join(", ", values);
            }

            if (request.Content is { } content)
            {
                foreach (var (name, values) in content.Headers)
                {
                    headers[name] = string.Join(", ", values);
                }
            }

            requests.Enqueue(new RecordedRequest(
                request.Method, request.RequestUri!, headers, request.Content?.Headers.ContentLength, request.Headers.TransferEncodingChunked == true));
            return base.SendAsync(request, cancellationToken);
        }
    }
}
