using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Xunit;

namespace GenerationWorker.TestSupport;

/// <summary>
/// A real HTTP server on loopback serving the reference images jobs point at, and the bad answers the worker must
/// refuse: <c>/ref.png</c>, <c>/ref.jpg</c>, <c>/page.html</c> (not an image), <c>/missing</c> (404),
/// <c>/huge.png</c> (21 MB), <c>/slow.png</c> (never answers until the client leaves), <c>/redirect-to-private</c>,
/// <c>/flaky/{name}</c> (503 on the first request for each name, then the PNG), <c>/status/{code}</c> (that status),
/// <c>/five-mb/{name}</c> (a 5 MB PNG, with its length; <see cref="MostConcurrentFiveMb"/> counts overlapping requests).
/// </summary>
public sealed class ReferenceImageServer : IAsyncLifetime
{
    /// <summary>A tiny valid PNG (1x1).</summary>
    public static readonly byte[] TinyPng = Convert.FromBase64String(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC");

    private WebApplication? _app;
    private int _fiveMbInFlight;
    private int _mostConcurrentFiveMb;

    /// <summary>The most <c>/five-mb/{name}</c> requests that were being answered at the same time.</summary>
    public int MostConcurrentFiveMb => Volatile.Read(ref _mostConcurrentFiveMb);

    /// <summary>The server's base URL.</summary>
    public Uri BaseUrl { get; private set; } = new("http://127.0.0.1/");

    /// <summary>How many times each path was requested.</summary>
    public Dictionary<string, int> Hits { get; } = [];

    /// <summary>An absolute URL on this server.</summary>
    public string Url(string path) => new Uri(BaseUrl, path).ToString();

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            lock (Hits)
            {
                Hits[context.Request.Path] = Hits.GetValueOrDefault(context.Request.Path) + 1;
            }

            await next(context);
        });
        app.MapGet("/ref.png", () => Results.Bytes(TinyPng, "image/png"));
        app.MapGet("/ref.jpg", () => Results.Bytes([0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 0x4A, 0x46, 0x49, 0x46, 0, 1, 0xFF, 0xD9], "image/jpeg"));
        app.MapGet("/page.html", () => Results.Text("<html><body>not an image</body></html>", "text/html"));
        app.MapGet("/huge.png", async (HttpContext context) =>
        {
            context.Response.ContentType = "image/png";
            await context.Response.Body.WriteAsync(TinyPng.AsMemory(0, 8));
            var chunk = new byte[1 << 20];
            for (var i = 0; i < 21 && !context.RequestAborted.IsCancellationRequested; i++)
            {
                await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
            }
        });
        app.MapGet("/slow.png", async (HttpContext context) =>
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
        });
        app.MapGet("/redirect-to-private", () => Results.Redirect("http://169.254.169.254/latest/meta-data/"));
        app.MapGet("/flaky/{name}", (HttpContext context) =>
        {
            lock (Hits)
            {
                return Hits[context.Request.Path] == 1 ? Results.StatusCode(503) : Results.Bytes(TinyPng, "image/png");
            }
        });
        app.MapGet("/five-mb/{name}", async (HttpContext context) =>
        {
            var inFlight = Interlocked.Increment(ref _fiveMbInFlight);
            int most;
            while (inFlight > (most = Volatile.Read(ref _mostConcurrentFiveMb))
                   && Interlocked.CompareExchange(ref _mostConcurrentFiveMb, inFlight, most) != most)
            {
            }

            try
            {
                context.Response.ContentType = "image/png";
                context.Response.ContentLength = 5 << 20;
                await context.Response.Body.WriteAsync(TinyPng.AsMemory(0, 8), context.RequestAborted);
                var chunk = new byte[64 << 10];
                for (var sent = 8; sent < 5 << 20 && !context.RequestAborted.IsCancellationRequested; sent += chunk.Length)
                {
                    await context.Response.Body.WriteAsync(chunk.AsMemory(0, Math.Min(chunk.Length, (5 << 20) - sent)), context.RequestAborted);
                }
            }
            finally
            {
                Interlocked.Decrement(ref _fiveMbInFlight);
            }
        });
        app.MapGet("/status/{code:int}", (int code) => Results.StatusCode(code));
        await app.StartAsync();
        _app = app;
        var address = app.Urls.First();
        BaseUrl = new Uri(address.EndsWith('/') ? address : address + "/");
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}
