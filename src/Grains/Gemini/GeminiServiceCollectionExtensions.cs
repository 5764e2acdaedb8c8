using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace GenerationWorker.Grains.Gemini;

/// <summary>Registers the Gemini client.</summary>
public static class GeminiServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IGeminiClient"/> as a typed <see cref="HttpClient"/> client (<see cref="GeminiClient"/>) over a
    /// <see cref="SocketsHttpHandler"/> suited to calls that last minutes, with <paramref name="options"/> as a singleton unless one is registered already.
    /// </summary>
    /// <remarks>
    /// The HTTP client's own timeout (100 s by default) is switched off: image calls can take several minutes, and the
    /// client enforces <see cref="GeminiOptions.Timeout"/> itself so that a timeout stays distinct from cancellation.
    /// </remarks>
    /// <param name="services">The service collection.</param>
    /// <param name="options">Key, base URL, model and timeout (validated by the host).</param>
    /// <returns>The builder of the typed client, for further handler configuration.</returns>
    public static IHttpClientBuilder AddGeminiClient(this IServiceCollection services, GeminiOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);

        services.AddLogging();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(options);
        return services
            .AddHttpClient<IGeminiClient, GeminiClient>(client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(CreateHandler)

            // The handler manages connection lifetime itself, so the factory need not rotate handlers.
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan);
    }

    /// <summary>
    /// Registers <see cref="VeoClient"/> as a typed <see cref="HttpClient"/> client over the same kind of handler as
    /// <see cref="AddGeminiClient"/>, with <paramref name="options"/> as a singleton unless one is registered already.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="options">Key, base URL and timeout (validated by the host).</param>
    /// <returns>The builder of the typed client.</returns>
    public static IHttpClientBuilder AddVeoClient(this IServiceCollection services, GeminiOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);

        services.AddLogging();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(options);
        return services
            .AddHttpClient<VeoClient>(client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(CreateHandler)
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan);
    }

    private static SocketsHttpHandler CreateHandler() => new()
    {
        // Recycle connections so DNS changes are seen; an in-flight call is never cut by this.
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),

        // An unreachable host fails in seconds instead of using up the whole request timeout.
        ConnectTimeout = TimeSpan.FromSeconds(30),

        // Base64 image data compresses by about a quarter; the handler inflates it before the JSON reader.
        AutomaticDecompression = DecompressionMethods.GZip | DecompressionMethods.Deflate,
        AllowAutoRedirect = false,
    };
}
