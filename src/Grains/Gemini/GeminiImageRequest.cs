namespace GenerationWorker.Grains.Gemini;

/// <summary>An image given to Gemini as input (a reference image, or the source image of an edit).</summary>
/// <param name="Bytes">The image bytes.</param>
/// <param name="MimeType">Its MIME type, for example <c>image/jpeg</c>.</param>
public sealed record InputImage(byte[] Bytes, string MimeType);

/// <summary>One part of a request's content: a text or an input image.</summary>
public abstract record GeminiPart
{
    private GeminiPart()
    {
    }

    /// <summary>A text part.</summary>
    public sealed record Text(string Value) : GeminiPart;

    /// <summary>An inline image part.</summary>
    public sealed record Image(InputImage Value) : GeminiPart;
}

/// <summary>One image generation or edit request: one call, one image, one unit of quota.</summary>
/// <param name="Model">The model id, for example <c>gemini-2.5-flash-image</c>.</param>
/// <param name="Parts">The user content's parts, in order: input images and texts, the instruction last.</param>
/// <param name="AspectRatio">An aspect ratio such as <c>16:9</c>, or null for the model's default (an edit sends none,
/// and keeps its source image's shape).</param>
/// <param name="ImageSize"><c>1K</c>, <c>2K</c> or <c>4K</c>, or null for the model's default.</param>
public sealed record GeminiImageRequest(
    string Model,
    IReadOnlyList<GeminiPart> Parts,
    string? AspectRatio,
    string? ImageSize)
{
    /// <summary>
    /// Called once the request's body has been written to the connection (also when the write failed part way: some
    /// of it may have reached Gemini). The budget counts the request's slot from that moment.
    /// </summary>
    public Action? Written { get; init; }

    /// <summary>A request of input images followed by one instruction.</summary>
    /// <param name="model">The model id.</param>
    /// <param name="prompt">The text instruction, sent after the images.</param>
    /// <param name="images">Input images (empty for text-to-image).</param>
    /// <param name="aspectRatio">An aspect ratio, or null.</param>
    /// <param name="imageSize">An image size, or null.</param>
    public GeminiImageRequest(string model, string prompt, IReadOnlyList<InputImage> images, string? aspectRatio, string? imageSize)
        : this(model, [.. images.Select(image => (GeminiPart)new GeminiPart.Image(image)), new GeminiPart.Text(prompt)], aspectRatio, imageSize)
    {
    }

    /// <summary>The bytes of the request's input images together.</summary>
    public long InputBytes => InputBytesOf(Parts);

    /// <summary>The size of the input images among <paramref name="parts"/>.</summary>
    public static long InputBytesOf(IReadOnlyList<GeminiPart> parts) => parts.OfType<GeminiPart.Image>().Sum(part => (long)part.Value.Bytes.Length);
}

/// <summary>Calls Gemini's <c>generateContent</c> for images.</summary>
public interface IGeminiClient
{
    /// <summary>Sends one request and maps whatever happens to a <see cref="GeminiOutcome"/>.</summary>
    /// <remarks>Never throws for HTTP or transport failures; only cancellation of <paramref name="cancellationToken"/>
    /// surfaces as <see cref="OperationCanceledException"/>.</remarks>
    Task<GeminiOutcome> GenerateImageAsync(GeminiImageRequest request, CancellationToken cancellationToken = default);
}
