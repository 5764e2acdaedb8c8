using GenerationWorker.Grains.Storage;
using GenerationWorker.Silo.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace GenerationWorker.Silo.Hosting;

/// <summary>The start-up's image store step: one probe (<see cref="ImageStoreProbe"/>) before anything else starts.</summary>
public static partial class StartupStorage
{
    /// <summary>How long the start-up probe waits for the store: 15 s.</summary>
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Probes the store <paramref name="options"/> name. A definite refusal stops the start-up
    /// (<see cref="ConfigurationException"/> naming the variable); an unreachable store is returned, so the silo starts
    /// without claiming and probes again.
    /// </summary>
    /// <returns>Null when the store took the probe; otherwise why it could not be reached.</returns>
    /// <exception cref="ConfigurationException">The store gave a definite refusal.</exception>
    public static async Task<string?> CheckAsync(StorageOptions options, ILogger logger)
    {
        IImageStore store = options.Kind == StorageKind.Local
            ? new LocalImageStore(options, NullLogger<LocalImageStore>.Instance)
            : new R2ImageStore(options, NullLogger<R2ImageStore>.Instance);
        try
        {
            if (await ImageStoreProbe.ProbeAsync(store, ProbeTimeout, CancellationToken.None) is not { } failure)
            {
                return null;
            }

            if (ImageStoreProbe.IsDefinite(failure.Failure))
            {
                throw new ConfigurationException(
                    [$"{ImageStoreProbe.Variable(failure.Failure, options)} is refused by the image store (a test write answered {failure.Failure}): {failure.Message}"]);
            }

            LogStoreUnreachable(logger, failure.Failure, failure.Message);
            return $"image store unreachable ({failure.Failure})";
        }
        finally
        {
            (store as IDisposable)?.Dispose();
        }
    }
}
