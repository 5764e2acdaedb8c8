using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Imaging;
using GenerationWorker.Grains.Jobs;
using GenerationWorker.Grains.Postgres;
using GenerationWorker.Grains.Storage;
using GenerationWorker.Grains.Telemetry;
using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Images;

/// <summary>Where a generated image goes, and in which forms.</summary>
public abstract record ImageTarget
{
    private ImageTarget()
    {
    }

    /// <summary>An asset: the WebP for display and the PNG original, under the asset's keys.</summary>
    /// <param name="Folder">The job's asset folder (<see cref="ObjectKeys.AssetFolder"/>).</param>
    /// <param name="AssetId">The asset id chosen before the upload.</param>
    public sealed record Asset(string Folder, string AssetId) : ImageTarget;

    /// <summary>An edit preview: one WebP at <paramref name="Key"/>.</summary>
    public sealed record Preview(string Key) : ImageTarget;
}

/// <summary>
/// Turns a generated image into what the app reads (a WebP at quality 85 for display, and the PNG original) and uploads
/// both, retrying a failed upload; the image is encoded once, whatever the number of upload tries.
/// </summary>
/// <remarks>
/// A paid image is not thrown away for a storage outage: while the store does not answer, the encoded files stay in
/// the spool and the upload is tried again with backoff (0.5 s doubling to 10 s) until the job's time limit cancels it.
/// Each try first makes sure the claim holds its lease (<see cref="IJobRun.HoldLeaseAsync"/>, fenced by its token, and
/// renewed unless confirmed within the last second): a worker whose claim was taken over uploads nothing, so it cannot
/// overwrite what the current claim stored. A refusal that waiting cannot fix (access denied, no such
/// bucket) ends the tries at once; an other error answer, or a local file that cannot be written, after 3 tries.
/// </remarks>
public sealed partial class ImageOutputs(
    ImageEncoder encoder,
    IImageStore store,
    TimeProvider time,
    WorkerTelemetry telemetry,
    ILogger<ImageOutputs> logger)
{
    private const int RejectedTries = 3;
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);

    /// <summary>Encodes and stores <paramref name="image"/> as variant <paramref name="variant"/> of the job.</summary>
    /// <param name="run">The claim (for logs).</param>
    /// <param name="image">The image Gemini made.</param>
    /// <param name="variant">The variant index.</param>
    /// <param name="target">Where it goes.</param>
    /// <param name="longSide">Resize so the long side is exactly this many pixels (edits), or null to keep the size.</param>
    /// <param name="cancellationToken">Stops the work.</param>
    /// <returns>The stored variant, with what its record needs.</returns>
    /// <exception cref="ImageUploadException">The store refused the upload, or rejected every try.</exception>
    /// <exception cref="LeaseLostException">The claim's lease is lost: nothing more is uploaded.</exception>
    public async Task<UnrecordedOutput> StoreAsync(
        IJobRun run, GeminiOutcome.Image image, int variant, ImageTarget target, int? longSide, CancellationToken cancellationToken)
    {
        using var encoded = await encoder.EncodeAsync(image.Data, longSide, cancellationToken);
        using var upload = telemetry.StartUpload(variant);
        switch (target)
        {
            case ImageTarget.Asset asset:
                var key = ObjectKeys.ForAsset(asset.Folder, asset.AssetId, "webp");
                var originalKey = ObjectKeys.ForOriginal(asset.Folder, asset.AssetId);
                var originalUrl = await PutAsync(run, variant, originalKey, encoded.Original, cancellationToken);
                var url = await PutAsync(run, variant, key, encoded.Display, cancellationToken);
                return new UnrecordedOutput(
                    new StoredOutput(variant, key, url, asset.AssetId, originalKey, originalUrl),
                    encoded.Display.ContentType, checked((int)encoded.Display.Length));
            case ImageTarget.Preview preview:
                var previewUrl = await PutAsync(run, variant, preview.Key, encoded.Display, cancellationToken);
                return new UnrecordedOutput(
                    new StoredOutput(variant, preview.Key, previewUrl, preview.Key),
                    encoded.Display.ContentType, checked((int)encoded.Display.Length));
            default:
                throw new ArgumentOutOfRangeException(nameof(target));
        }
    }

    /// <summary>Encodes <paramref name="image"/> as a WebP resized to <paramref name="longSide"/> and returns its bytes.</summary>
    public async Task<byte[]> EncodeDisplayAsync(GeminiOutcome.Image image, int? longSide, CancellationToken cancellationToken)
    {
        using var encoded = await encoder.EncodeAsync(image.Data, longSide, cancellationToken);
        await using var stream = encoded.Display.OpenRead();
        var bytes = new byte[encoded.Display.Length];
        await stream.ReadExactlyAsync(bytes, cancellationToken);
        return bytes;
    }

    private async Task<string> PutAsync(IJobRun run, int variant, string key, EncodedImage file, CancellationToken cancellationToken)
    {
        var backoff = TimeSpan.FromMilliseconds(500);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await run.HoldLeaseAsync(cancellationToken);

                // Each try reads the file from its start.
                await using var content = file.OpenRead();
                return await store.PutAsync(key, content, file.ContentType, cancellationToken);
            }
            catch (ImageStoreException exception) when (exception.Failure is ImageStoreFailure.AccessDenied or ImageStoreFailure.BucketNotFound)
            {
                throw new ImageUploadException($"the image store refused the upload ({exception.Failure}): {exception.Message}", exception, exception.Failure);
            }
            catch (ImageStoreException exception)
                when (exception.Failure is ImageStoreFailure.Rejected or ImageStoreFailure.WriteFailed && attempt >= RejectedTries)
            {
                throw new ImageUploadException($"upload failed after {RejectedTries} tries: {exception.Message}", exception, exception.Failure);
            }
            catch (Exception exception) when (exception is not (OperationCanceledException or LeaseLostException))
            {
                // The store (or the database, for the lease) does not answer: keep the image and try again.
                LogUploadRetry(logger, run.Job.JobId, run.Job.Attempt, variant, attempt, exception);
                await Task.Delay(backoff, time, cancellationToken);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }
    }
}

/// <summary>
/// An upload failed for good in this claim: refused by the store (<see cref="Failure"/> AccessDenied or
/// BucketNotFound: the service stops claiming), or rejected on every try (the job retries later; its stored variants
/// are kept).
/// </summary>
public sealed class ImageUploadException(string message, Exception inner, ImageStoreFailure failure) : Exception(message, inner)
{
    /// <summary>What the store answered.</summary>
    public ImageStoreFailure Failure { get; } = failure;

    /// <summary>True when the store refuses this service's uploads (access denied, no such bucket): no job can store.</summary>
    public bool RefusesService => Failure is ImageStoreFailure.AccessDenied or ImageStoreFailure.BucketNotFound;
}
