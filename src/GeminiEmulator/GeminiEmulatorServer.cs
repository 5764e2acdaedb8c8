using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GenerationWorker.GeminiEmulator;

/// <summary>Hosts the emulator in the current process, for tests.</summary>
public static class GeminiEmulatorServer
{
    /// <summary>Starts an emulator on <c>127.0.0.1</c>, on a free port, and returns once it accepts connections.</summary>
    /// <param name="options">Its settings (validated here).</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <exception cref="InvalidOperationException">The options are invalid.</exception>
    public static Task<GeminiEmulatorHandle> StartAsync(EmulatorOptions options, CancellationToken cancellationToken) =>
        StartAsync(options, port: 0, cancellationToken);

    /// <summary>Starts an emulator on <c>127.0.0.1</c> and returns once it accepts connections.</summary>
    /// <param name="options">Its settings (validated here).</param>
    /// <param name="port">The TCP port; 0 (default) picks a free one, read back into <see cref="GeminiEmulatorHandle.BaseUrl"/>.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <exception cref="InvalidOperationException">The options are invalid.</exception>
    public static async Task<GeminiEmulatorHandle> StartAsync(EmulatorOptions options, int port = 0, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        builder.AddGeminiEmulator(options);
        var app = builder.Build();
        app.MapGeminiEmulator();
        await app.StartAsync(cancellationToken);

        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new GeminiEmulatorHandle(
            app,
            new Uri(address.EndsWith('/') ? address : address + "/"),
            options,
            app.Services.GetRequiredService<EmulatorStats>(),
            app.Services.GetRequiredService<EmulatorFaults>(),
            app.Services.GetRequiredService<QuotaLimiter>());
    }

    /// <summary>Registers the emulator's services, quiet logging (warnings only) and a 64 MiB request body limit.</summary>
    /// <exception cref="InvalidOperationException">The options are invalid.</exception>
    public static WebApplicationBuilder AddGeminiEmulator(this WebApplicationBuilder builder, EmulatorOptions options)
    {
        options.Validate();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.Configure<KestrelServerOptions>(kestrel => kestrel.Limits.MaxRequestBodySize = 64L * 1024 * 1024);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(new EmulatorStats(options.TimeProvider, options.Window, options.RequestLogCapacity));
        builder.Services.AddSingleton(new EmulatorFaults(options.Faults));
        builder.Services.AddSingleton(new QuotaLimiter(options));
        builder.Services.AddSingleton(new ImageRenderer(options));
        builder.Services.AddSingleton<GenerateContentEndpoint>();
        builder.Services.AddSingleton(new VideoOperations());
        builder.Services.AddSingleton<VideoEndpoint>();
        return builder;
    }

    /// <summary>Maps <c>/v1beta/models/{model}:generateContent</c>, Veo's <c>:predictLongRunning</c>, operation polls and
    /// file downloads, the control API under <c>/_emulator/</c>, and a Google-shaped 404 for every other path.</summary>
    public static IEndpointRouteBuilder MapGeminiEmulator(this IEndpointRouteBuilder endpoints)
    {
        const string predict = ":predictLongRunning";
        const string download = ":download";
        var generate = endpoints.ServiceProvider.GetRequiredService<GenerateContentEndpoint>();
        var video = endpoints.ServiceProvider.GetRequiredService<VideoEndpoint>();
        endpoints.Map("/v1beta/models/{**" + GenerateContentEndpoint.RouteValue + "}", context =>
        {
            var rest = context.Request.RouteValues[GenerateContentEndpoint.RouteValue] as string ?? "";
            if (HttpMethods.IsPost(context.Request.Method) && rest.EndsWith(predict, StringComparison.Ordinal) && rest.Length > predict.Length)
            {
                return video.StartAsync(context, rest[..^predict.Length]);
            }

            return HttpMethods.IsGet(context.Request.Method) && rest.Contains("/operations/", StringComparison.Ordinal)
                ? video.PollAsync(context, "models/" + rest)
                : generate.HandleAsync(context);
        });
        endpoints.Map("/v1beta/files/{**" + GenerateContentEndpoint.RouteValue + "}", context =>
        {
            var rest = context.Request.RouteValues[GenerateContentEndpoint.RouteValue] as string ?? "";
            return HttpMethods.IsGet(context.Request.Method) && rest.EndsWith(download, StringComparison.Ordinal) && rest.Length > download.Length
                ? video.DownloadAsync(context, rest[..^download.Length])
                : ApiError.MethodNotFound.WriteAsync(context.Response, context.RequestAborted);
        });
        ControlEndpoints.Map(endpoints);
        endpoints.MapFallback("{**path}", context => ApiError.MethodNotFound.WriteAsync(context.Response, context.RequestAborted));
        return endpoints;
    }
}

/// <summary>A running in-process emulator. Dispose to stop it.</summary>
public sealed class GeminiEmulatorHandle : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly QuotaLimiter _quota;

    internal GeminiEmulatorHandle(WebApplication app, Uri baseUrl, EmulatorOptions options, EmulatorStats stats, EmulatorFaults faults, QuotaLimiter quota)
    {
        _app = app;
        _quota = quota;
        BaseUrl = baseUrl;
        Options = options;
        Stats = stats;
        Faults = faults;
    }

    /// <summary>The emulator's root, for example <c>http://127.0.0.1:43127/</c>; the Gemini base URL to configure.</summary>
    public Uri BaseUrl { get; }

    /// <summary>The settings it runs with.</summary>
    public EmulatorOptions Options { get; }

    /// <summary>The accepted API key.</summary>
    public string ApiKey => Options.ApiKey;

    /// <summary>What it saw so far.</summary>
    public EmulatorStats Stats { get; }

    /// <summary>The faults in force; change them at any time.</summary>
    public EmulatorFaults Faults { get; }

    /// <summary>Same as <c>POST /_emulator/reset</c>: forgets statistics, quota windows, scripted faults and prompt
    /// counters, and restores the faults given at start.</summary>
    public void Reset()
    {
        Stats.Reset();
        _quota.Reset();
        Faults.Reset();
    }

    /// <summary>Stops the server; hanging requests are cut off.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
