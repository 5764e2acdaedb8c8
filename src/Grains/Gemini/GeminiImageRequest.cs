namespace GenerationWorker.Grains.Gemini;

/// <summary>An image given to Gemini as input (a reference image, or the source image of an edit).</summary>
/// <param name="Bytes">The image bytes.</param>
/// <param name="MimeType">Its MIME type, for example <c>image/jpeg</c>.</param>
public sealed record InputImage(byte[] Bytes, string MimeType);

/// <summary>One image generation or edit request: one call, one image, one unit of quota.</summary>
/// <param name="Model">The model id, for example <c>gemini-2.5-flash-image</c>.</param>
/// <param name="Prompt">The text instruction.</param>
/// <param name="Images">Input images, sent before the text (empty for text-to-image).</param>
/// <param name="AspectRatio">An aspect ratio such as <c>16:9</c>, or null for the model's default.</param>
/// <param name="ImageSize"><c>1K</c>, <c>2K</c> or <c>4K</c>, or null for the model's default.</param>
public sealed record GeminiImageRequest(
    string Model,
    string Prompt,
    IReadOnlyList<InputImage> Images,
    string? AspectRatio,
    string? ImageSize);

/// <summary>Calls Gemini's <c>generateContent</c> for images.</summary>
public interface IGeminiClient
{
    /// <summary>Sends one request and maps whatever happens to a <see cref="GeminiOutcome"/>.</summary>
    /// <remarks>Never throws for HTTP or transport failures; only cancellation of <paramref name="cancellationToken"/>
    /// surfaces as <see cref="OperationCanceledException"/>.</remarks>
    Task<GeminiOutcome> GenerateImageAsync(GeminiImageRequest request, CancellationToken cancellationToken = default);
}
