using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using GenerationWorker.Grains.Assets;
using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Imaging;
using GenerationWorker.Grains.Jobs;
using GenerationWorker.Grains.Postgres;
using GenerationWorker.Grains.Storage;
using Microsoft.Extensions.Options;

namespace GenerationWorker.Grains.Images;

/// <summary>
/// Runs <c>image_edit</c> jobs: the source image and a guarded instruction to <c>GEMINI_EDIT_MODEL</c> (no aspect ratio,
/// so the edit keeps the source's shape; the size of <c>settings.imageQuality</c>), the fallback model after an error
/// or an answer without an image, the result resized to 2048 px on its long side. A preview (the app's default) is one
/// WebP under the edit session's folder; a saved edit is stored like a generation.
/// </summary>
public sealed class ImageEditHandler(
    ImageCalls calls,
    ImageOutputs outputs,
    ReferenceImageFetcher fetcher,
    AppTables appTables,
    AppAssetStore assets,
    IOptions<GeminiOptions> geminiOptions) : IJobHandler
{
    /// <summary>The long side of every edited image, in pixels, as the app's previous worker made it.</summary>
    public const int LongSide = 2048;

    /// <inheritdoc />
    public string Type => "image_edit";

    /// <summary>The instruction sent after the source image: the edit inside a guard, then the components it may touch.</summary>
    public static string Instruction(EditRequest request)
    {
        var text = new StringBuilder()
            .Append("Edit the image above. Apply only the requested edit below. Keep the composition, framing, camera angle, ")
            .Append("lighting, colours, materials, textures, text and everything else exactly as they are.\n\n")
            .Append("Requested edit: ").Append(request.EditPrompt);
        if (request.Components.Count > 0)
        {
            text.Append("\n\nChange only these components: ").Append(string.Join(", ", request.Components))
                .Append(". Leave every other part of the image untouched.");
        }

        return text.ToString();
    }

    /// <inheritdoc />
    public async Task<JobResult> RunAsync(IJobRun run, CancellationToken cancellationToken)
    {
        var job = run.Job;
        if (EditRequest.Parse(job.PayloadJson, out var error) is not { } request)
        {
            return new JobResult.Fail(error!);
        }

        // Where the edited image goes; null: nowhere, it travels in the result as a data URL.
        ImageTarget? target;
        if (request.PreviewOnly)
        {
            var key = request.TempStoragePrefix is { } prefix ? ObjectKeys.ForEditPreview(prefix, job.ClientId, PreviewId(job.JobId)) : null;
            if (request.TempStoragePrefix is not null && key is null)
            {
                return new JobResult.Fail(
                    $"invalid payload: 'tempStoragePrefix' must be a folder under {ObjectKeys.EditSessionsPrefix}{job.ClientId}/");
            }

            target = key is null ? null : new ImageTarget.Preview(key);
        }
        else
        {
            var withAssets = await appTables.PresentAsync(cancellationToken);
            var placeholders = withAssets ? await assets.PlaceholdersAsync(job.JobId, cancellationToken) : [];
            var assetId = AssetIds.Assign(job.JobId, [0], placeholders, [])[0];
            target = new ImageTarget.Asset(ObjectKeys.AssetFolder(job.ClientId, job.FlowId, request.SessionId), assetId);
        }

        var route = ModelRoutes.ForEdit(geminiOptions.Value, request);
        await run.StartedAsync(route.Model, 10, cancellationToken);
        var stored = job.StoredVariants > 0 ? (await run.StoredOutputsAsync(cancellationToken)).FirstOrDefault(o => o.Variant == 0) : null;
        if (stored is null)
        {
            await run.NeedRequestsAsync(1);
            var made = await MakeAsync(run, request, route, target, cancellationToken);
            if (made.Result is { } end)
            {
                return end;
            }

            stored = made.Stored;
        }
        else
        {
            await run.NeedRequestsAsync(0);
        }

        return await CompleteAsync(run, request, stored!, target, cancellationToken);
    }

    private async Task<(StoredOutput? Stored, JobResult? Result)> MakeAsync(
        IJobRun run, EditRequest request, ModelRoute route, ImageTarget? target, CancellationToken cancellationToken)
    {
        InputImage source;
        try
        {
            source = (await fetcher.FetchAllAsync([request.Source], cancellationToken))[0];
        }
        catch (ReferenceImageException exception)
        {
            return (null, new JobResult.Fail("source image unusable: " + exception.Message));
        }
        catch (TransientReferenceImageException exception)
        {
            return (null, new JobResult.Retry("source image unavailable: " + exception.Message));
        }

        await run.ProgressAsync(30, cancellationToken);
        GeminiPart[] parts = [new GeminiPart.Image(source), new GeminiPart.Text(Instruction(request))];
        var outcome = await calls.GenerateAsync(run, route, parts, aspectRatio: null, FallbackOn.AnyFailure, 0, cancellationToken);
        if (outcome is null)
        {
            return (null, VariantResult.Decide([new VariantResult.Paused()], run.Job.Attempt));
        }

        using var image = outcome as GeminiOutcome.Image;
        if (image is null)
        {
            return (null, VariantResult.Decide([VariantResult.FromFailure(outcome, geminiOptions.Value)], run.Job.Attempt));
        }

        await run.ProgressAsync(70, cancellationToken);
        try
        {
            if (target is null)
            {
                var webp = await outputs.EncodeDisplayAsync(image, LongSide, cancellationToken);
                return (new StoredOutput(0, "", "data:image/webp;base64," + Convert.ToBase64String(webp), ""), null);
            }

            var output = await outputs.StoreAsync(run, image, 0, target, LongSide, cancellationToken);
            await run.RecordOutputAsync(output, 90, cancellationToken);
            return (output.Output, null);
        }
        catch (ImageUploadException exception)
        {
            return (null, exception.RefusesService ? new JobResult.StopService(exception.Message) : new JobResult.Retry(exception.Message));
        }
        catch (ImageEncodeException exception)
        {
            return (null, new JobResult.Retry("Gemini's image could not be encoded: " + exception.Message));
        }
    }

    private async Task<JobResult> CompleteAsync(
        IJobRun run, EditRequest request, StoredOutput stored, ImageTarget? target, CancellationToken cancellationToken)
    {
        var job = run.Job;
        if (request.PreviewOnly)
        {
            var preview = new JsonObject { [stored.ObjectKey.Length == 0 ? "editedImageDataUrl" : "editedImageUrl"] = stored.Url };
            return new JobResult.Complete(preview.ToJsonString());
        }

        var result = new JsonObject
        {
            ["imageUrls"] = new JsonArray(stored.Url),
            ["imageIds"] = new JsonArray(stored.ImageId),
            ["duration"] = (long)run.Elapsed.TotalMilliseconds,
        };
        var withAssets = target is ImageTarget.Asset && await appTables.PresentAsync(cancellationToken);
        var rows = withAssets
            ? new AssetWrite(job.ClientId, job.FlowId, job.JobId, "image", request.EditPrompt, request.AssetSettingsJson,
                request.ProductIds, [new AssetFile(stored.ImageId, stored.Url, stored.OriginalUrl)])
            : null;
        return new JobResult.Complete(result.ToJsonString(), null, rows);
    }

    /// <summary>The unique part of a job's preview key: the same on every attempt, so a retry overwrites it.</summary>
    private static string PreviewId(string jobId) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(jobId)), 0, 12);
}
