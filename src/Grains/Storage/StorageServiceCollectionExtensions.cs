using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Storage;

/// <summary>Registers the image store.</summary>
public static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// Registers <paramref name="options"/> and, as a singleton <see cref="IImageStore"/>, the store its
    /// <see cref="StorageOptions.Kind"/> names: <see cref="R2ImageStore"/> or <see cref="LocalImageStore"/>.
    /// The store is built on first use; its settings are checked then.
    /// </summary>
    public static IServiceCollection AddImageStore(this IServiceCollection services, StorageOptions options)
    {
        services.TryAddSingleton(options);
        switch (options.Kind)
        {
            case StorageKind.R2:
                services.AddSingleton<IImageStore>(sp => new R2ImageStore(options, sp.GetRequiredService<ILogger<R2ImageStore>>()));
                break;
            case StorageKind.Local:
                services.AddSingleton<IImageStore>(sp => new LocalImageStore(options, sp.GetRequiredService<ILogger<LocalImageStore>>()));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(options), options.Kind, "Unknown storage kind; set STORAGE to r2 or local.");
        }

        return services;
    }
}
