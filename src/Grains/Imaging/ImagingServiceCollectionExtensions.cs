using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace GenerationWorker.Grains.Imaging;

/// <summary>Registers the image encoder.</summary>
public static class ImagingServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="ImageEncoder"/> as a singleton (one concurrency bound for the process), created when the host
    /// starts (a libvips that does not load stops start-up).
    /// </summary>
    public static IServiceCollection AddImageEncoder(this IServiceCollection services, ImageEncoderOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        services.AddLogging();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(options);
        services.AddSingleton<ImageEncoder>();
        services.AddHostedService<ImageEncoderStartup>();
        return services;
    }
}
