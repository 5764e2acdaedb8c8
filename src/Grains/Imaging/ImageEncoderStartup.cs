using Microsoft.Extensions.Hosting;

namespace GenerationWorker.Grains.Imaging;

/// <summary>
/// Creates the <see cref="ImageEncoder"/> when the host starts, so that a native libvips that does not load (a missing
/// or foreign <c>libvips.so.42</c> in the published output) stops start-up instead of failing the first job.
/// </summary>
internal sealed class ImageEncoderStartup(ImageEncoder encoder) : IHostedService
{
    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        GC.KeepAlive(encoder);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
