using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Tests.Gemini;

/// <summary>What the replay server received.</summary>
public sealed record RecordedRequest(
    string Method,
    string Path,
    string QueryString,
    IReadOnlyDictionary<string, string> Headers,
    byte[] Body)
{
    public JsonDocument BodyJson() => JsonDocument.Parse(Body);
}

/// <summary>
/// A Kestrel server on 127.0.0.1 that answers every request with one canned status and body, records each request,
/// and can hold its answers until the test releases them.
/// </summary>
public sealed class ReplayServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly TaskCompletionSource<RecordedRequest> _firstRequest = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile CannedReply _reply = new(200, "{}"u8.ToArray(), "application/json", Abort: false);
    private volatile TaskCompletionSource? _hold;

    private ReplayServer(WebApplication app, Uri baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    /// <summary>The server's root, for example <c>http://127.0.0.1:51234/</c>.</summary>
    public Uri BaseUrl { get; }

    /// <summary>Completes when the first request has been fully received.</summary>
    public Task<RecordedRequest> FirstRequest => _firstRequest.Task;

    /// <summary>Every request received so far, in order.</summary>
    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    public static async Task<ReplayServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0);
            kestrel.Limits.MaxRequestBodySize = 64 * 1024 * 1024;
        });
        var app = builder.Build();
        ReplayServer? server = null;
        app.Run(context => server!.HandleAsync(context));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!
            .Addresses.Single();
        server = new ReplayServer(app, new Uri(address + "/"));
        return server;
    }

    /// <summary>Answers from now on with <paramref name="status"/> and a JSON (or other) body.</summary>
    public void Reply(int status, string body, string contentType = "application/json; charset=UTF-8") =>
        Reply(status, Encoding.UTF8.GetBytes(body), contentType);

    public void Reply(int status, byte[] body, string contentType) => _reply = new CannedReply(status, body, contentType, Abort: false);

    /// <summary>From now on, drops the connection after reading the request instead of answering.</summary>
    public void AbortConnections() => _reply = _reply with { Abort = true };

    /// <summary>Holds every answer until <see cref="Release"/> (or until the client goes away).</summary>
    public void Hold() => _hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release() => _hold?.TrySetResult();

    public async ValueTask DisposeAsync()
    {
        Release();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted);
        var recorded = new RecordedRequest(
            context.Request.Method,
            context.Request.Path.Value ?? "",
            context.Request.QueryString.Value ?? "",
            context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
            body.ToArray());
        _requests.Enqueue(recorded);
        _firstRequest.TrySetResult(recorded);

        if (_hold is { } hold)
        {
            try
            {
                await hold.Task.WaitAsync(context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                // The client gave up (its timeout or its caller's cancellation): nobody is left to answer.
                return;
            }
        }

        var reply = _reply;
        if (reply.Abort)
        {
            context.Abort();
            return;
        }

        context.Response.StatusCode = reply.Status;
        context.Response.ContentType = reply.ContentType;
        context.Response.ContentLength = reply.Body.Length;
        await context.Response.Body.WriteAsync(reply.Body, context.RequestAborted);
    }

    private sealed record CannedReply(int Status, byte[] Body, string ContentType, bool Abort);
}
