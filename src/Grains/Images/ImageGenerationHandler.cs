using System.Text.Json.Nodes;
using GenerationWorker.Grains.Assets;
using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Imaging;
using GenerationWorker.Grains.Jobs;
using GenerationWorker.Grains.Postgres;
using GenerationWorker.Grains.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GenerationWorker.Grains.Images;

/// <summary>
/// Runs <c>image_generation</c> jobs: one Gemini request per variant still missing, in parallel, each image stored as a
/// WebP and a PNG original under an asset id chosen before the upload, and recorded at once so that a retry never pays
/// for it again.
/// </summary>
public sealed partial class ImageGenerationHandler(
    ImageCalls calls,
    ImageOutputs outputs,
    ReferenceImageFetcher fetcher,
    AppTables appTables,
    AppAssetStore assets,
    IOptions<GeminiOptions> geminiOptions,
    ILogger<ImageGenerationHandler> logger) : IJobHandler
{
    /// <summary>The text after the product images.</summary>
    public const string ProductGuidance =
        "The images above are the products to include in the scene. Keep each product's shape, colours, materials and branding as shown.";

    /// <summary>The text after the inspiration images.</summary>
    public const string InspirationGuidance =
        "The images above are style and composition inspiration only: follow their mood, lighting and composition, not their content.";

    /// <inheritdoc />
    public string Type => "image_generation";

    /// <summary>The progress the app's UI expects when variant <paramref name="index"/> (from 0) of <paramref name="variants"/> starts.</summary>
    public static int ProgressAtStart(int index, int variants) =>
        (int)Math.Round((Math.Min(index, variants - 1) + 1) * 90.0 / variants, MidpointRounding.AwayFromZero);

    /// <inheritdoc />
    public async Task<JobResult> RunAsync(IJobRun run, CancellationToken cancellationToken)
    {
        var job = run.Job;
        if (GenerationRequest.Parse(job.PayloadJson, out var error) is not { } request)
        {
            return new JobResult.Fail(error!);
        }

        var route = ModelRoutes.ForGeneration(geminiOptions.Value, request);
        if (!GeminiAspectRatios.IsValid(route.Model, request.AspectRatio))
        {
            return new JobResult.Fail(
                $"invalid payload: aspect ratio '{request.AspectRatio}' is not one of {string.Join(", ", GeminiAspectRatios.For(route.Model))}");
        }

        if (route.ReplacedOverride is { } replaced)
        {
            LogOverrideReplaced(logger, job.JobId, replaced, route.ImageSize!, route.Model);
        }

        var earlier = job.StoredVariants > 0 ? await run.StoredOutputsAsync(cancellationToken) : [];
        var stored = earlier.Where(output => output.Variant < request.Variants).ToDictionary(output => output.Variant);
        var missing = Enumerable.Range(0, request.Variants).Where(v => !stored.ContainsKey(v)).ToList();
        await run.NeedRequestsAsync(missing.Count);
        await run.StartedAsync(route.Model, ProgressAtStart(stored.Count, request.Variants), cancellationToken);

        var withAssets = await appTables.PresentAsync(cancellationToken);
        UnrecordedOutput? last = null;
        if (missing.Count > 0)
        {
            var placeholders = withAssets ? await assets.PlaceholdersAsync(job.JobId, cancellationToken) : [];
            var ids = AssetIds.Assign(job.JobId, missing, placeholders, [.. stored.Values.Select(output => output.ImageId)]);
            var parts = await BuildPartsAsync(request, cancellationToken);
            if (parts.Failure is { } failure)
            {
                return failure;
            }

            var folder = ObjectKeys.AssetFolder(job.ClientId, job.FlowId, request.SessionId);
            var results = await Task.WhenAll(missing.Select(variant => RunVariantAsync(
                run, request, route, parts.Parts!, variant, new ImageTarget.Asset(folder, ids[variant]), stored, cancellationToken)));
            if (VariantResult.Decide(results, job.Attempt) is { } end)
            {
                return end;
            }

            last = results.OfType<VariantResult.Stored>().Select(result => result.Unrecorded).FirstOrDefault(output => output is not null);
        }

        var ordered = stored.Values.OrderBy(output => output.Variant).ToList();
        var result = new JsonObject
        {
            ["imageUrls"] = new JsonArray([.. ordered.Select(output => (JsonNode)output.Url)]),
            ["imageIds"] = new JsonArray([.. ordered.Select(output => (JsonNode)output.ImageId)]),
            ["duration"] = (long)run.Elapsed.TotalMilliseconds,
        };
        var assetRows = withAssets
            ? new AssetWrite(
                job.ClientId, job.FlowId, job.JobId, "image", request.Prompt, request.AssetSettingsJson, request.ProductIds,
                [.. ordered.Select(output => new AssetFile(output.ImageId, output.Url, output.OriginalUrl))])
            : null;
        return new JobResult.Complete(result.ToJsonString(), last, assetRows);
    }

    private async Task<(IReadOnlyList<GeminiPart>? Parts, JobResult? Failure)> BuildPartsAsync(
        GenerationRequest request, CancellationToken cancellationToken)
    {
        IReadOnlyList<InputImage> products, inspirations;
        try
        {
            // One fetch for both lists: the size limit is on their total.
            var images = await fetcher.FetchAllAsync([.. request.ProductImages, .. request.InspirationImages], cancellationToken);
            products = [.. images.Take(request.ProductImages.Count)];
            inspirations = [.. images.Skip(request.ProductImages.Count)];
        }
        catch (ReferenceImageException exception)
        {
            return (null, new JobResult.Fail("reference image unusable: " + exception.Message));
        }
        catch (TransientReferenceImageException exception)
        {
            return (null, new JobResult.Retry("reference image unavailable: " + exception.Message));
        }

        var parts = new List<GeminiPart>(products.Count + inspirations.Count + 3);
        parts.AddRange(products.Select(image => new GeminiPart.Image(image)));
        if (products.Count > 0)
        {
            parts.Add(new GeminiPart.Text(ProductGuidance));
        }

        parts.AddRange(inspirations.Select(image => new GeminiPart.Image(image)));
        if (inspirations.Count > 0)
        {
            parts.Add(new GeminiPart.Text(InspirationGuidance));
        }

        parts.Add(new GeminiPart.Text(request.Prompt));
        return (parts, null);
    }

    private async Task<VariantResult> RunVariantAsync(
        IJobRun run, GenerationRequest request, ModelRoute route, IReadOnlyList<GeminiPart> parts, int variant,
        ImageTarget target, Dictionary<int, StoredOutput> stored, CancellationToken cancellationToken)
    {
        var outcome = await calls.GenerateAsync(run, route, parts, request.AspectRatio, FallbackOn.ModelNotFound, variant, cancellationToken);
        if (outcome is null)
        {
            return new VariantResult.Paused();
        }

        // The image lives in a temporary file until this method ends: stored, failed or cancelled, it is deleted.
        using var generated = outcome as GeminiOutcome.Image;
        if (generated is null)
        {
            return VariantResult.FromFailure(outcome, geminiOptions.Value);
        }

        UnrecordedOutput output;
        try
        {
            output = await outputs.StoreAsync(run, generated, variant, target, longSide: null, cancellationToken);
        }
        catch (ImageUploadException exception)
        {
            return exception.RefusesService
                ? new VariantResult.Fatal(exception.Message)
                : new VariantResult.Retryable(exception.Message, null);
        }
        catch (ImageEncodeException exception)
        {
            return new VariantResult.Retryable("Gemini's image could not be encoded: " + exception.Message, null);
        }

        lock (stored)
        {
            stored[variant] = output.Output;
            if (stored.Count == request.Variants)
            {
                // The job's last variant: every other one is stored, so the job completes now, and this one is recorded
                // by the completion's own statement.
                return new VariantResult.Stored(output.Output, output);
            }
        }

        await run.RecordOutputAsync(output, ProgressAtStart(stored.Count, request.Variants), cancellationToken);
        return new VariantResult.Stored(output.Output);
    }
}
