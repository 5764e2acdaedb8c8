using GenerationWorker.Grains.Gemini;

namespace GenerationWorker.Grains.Images;

/// <summary>The models an image request is sent to, and the size it asks of each.</summary>
/// <param name="Model">The model called first.</param>
/// <param name="Fallback">The model called when the first fails in a way a fallback can help with, or null.</param>
/// <param name="ImageSize">The size the job needs (1K, 2K, 4K), or null for the model's default.</param>
/// <param name="ReplacedOverride">A payload's model override that was replaced because it cannot make the size.</param>
public sealed record ModelRoute(string Model, string? Fallback, string? ImageSize, string? ReplacedOverride = null)
{
    /// <summary>
    /// The imageSize to send to <paramref name="model"/>: the job's size when the model takes one (gemini-2.5-flash-image
    /// takes none, and makes 1K).
    /// </summary>
    public string? SizeFor(string model) => GeminiImageSize.IsSupported(model, ImageSize) ? ImageSize : null;
}

/// <summary>
/// Routes image jobs to models by role (<c>GEMINI_MODEL</c> at 1K, <c>GEMINI_HIGH_RES_MODEL</c> at 2K and 4K,
/// <c>GEMINI_EDIT_MODEL</c> for edits, <c>GEMINI_FALLBACK_MODEL</c> after a failure), as the app's previous worker did.
/// </summary>
/// <remarks>
/// A 2K or 4K job never comes back at 1K in silence: an override that cannot make the size is replaced by the high-res
/// model, and a fallback that cannot make it is not called. Retired preview ids map to their GA id.
/// </remarks>
public static class ModelRoutes
{
    private static readonly Dictionary<string, string> Retired = new(StringComparer.Ordinal)
    {
        ["gemini-3-pro-image-preview"] = "gemini-3-pro-image",
        ["gemini-3.1-flash-image-preview"] = "gemini-3.1-flash-image",
    };

    /// <summary>The model id to call for <paramref name="model"/>: its GA id when it names a retired preview.</summary>
    public static string Current(string model) => Retired.TryGetValue(model, out var ga) ? ga : model;

    /// <summary>
    /// True when <paramref name="model"/> is one of the operator's models (<c>GEMINI_MODEL</c>,
    /// <c>GEMINI_FALLBACK_MODEL</c>, <c>GEMINI_HIGH_RES_MODEL</c>, <c>GEMINI_EDIT_MODEL</c>, <c>GEMINI_VIDEO_MODEL</c>),
    /// compared after the retired-id mapping; false for a model that only a job's model override names.
    /// </summary>
    public static bool IsConfigured(GeminiOptions options, string model)
    {
        var current = Current(model);
        string?[] configured = [options.Model, options.FallbackModel, options.HighResModel, options.EditModel, options.VideoModel];
        return configured.Any(id => id is not null && Current(id) == current);
    }

    /// <summary>
    /// A generation: at 1K (or no quality) the payload's overrides win over <c>GEMINI_MODEL</c> and
    /// <c>GEMINI_FALLBACK_MODEL</c>; at 2K/4K the override is kept only when it can make the size.
    /// </summary>
    public static ModelRoute ForGeneration(GeminiOptions options, GenerationRequest request) =>
        ForGeneration(options, request.ImageSize, request.ModelOverride, request.FallbackOverride);

    private static ModelRoute ForGeneration(GeminiOptions options, string? size, string? modelOverride, string? fallbackOverride)
    {
        var fallback = Current(fallbackOverride ?? options.FallbackModel ?? options.Model);
        if (size is null or "1K")
        {
            var model = Current(modelOverride ?? options.Model);
            return new ModelRoute(model, fallback == model ? null : fallback, size);
        }

        var chosen = modelOverride is { } over && GeminiImageSize.IsSupported(Current(over), size) ? Current(over) : null;
        var high = chosen ?? Current(options.HighResModel);
        var usableFallback = fallback != high && GeminiImageSize.IsSupported(fallback, size) ? fallback : null;
        return new ModelRoute(high, usableFallback, size, chosen is null ? modelOverride : null);
    }

    /// <summary>
    /// The model a job of <paramref name="type"/> calls first, from the few payload fields that route it (what the
    /// dispatcher reads before it claims, to take that model's budget): a job's recorded model (an earlier attempt's)
    /// wins. An unreadable quality routes as none: the job fails on its payload without calling anything.
    /// </summary>
    public static string FirstModel(
        GeminiOptions options, string? type, string? recordedModel, string? quality, string? imageModelOverride, string? videoModel) =>
        Current(recordedModel ?? type switch
        {
            "image_edit" => options.EditModel,
            "video_generation" => videoModel ?? options.VideoModel,
            _ => ForGeneration(options, GeminiImageSize.TryFromQuality(quality, out var size) ? size : null, imageModelOverride, null).Model,
        });

    /// <summary>An edit: <c>GEMINI_EDIT_MODEL</c>, falling back on <c>GEMINI_FALLBACK_MODEL</c>; overrides are ignored.</summary>
    public static ModelRoute ForEdit(GeminiOptions options, EditRequest request)
    {
        var model = Current(options.EditModel);
        var fallback = Current(options.FallbackModel ?? options.Model);
        return new ModelRoute(model, fallback == model ? null : fallback, request.ImageSize);
    }
}
