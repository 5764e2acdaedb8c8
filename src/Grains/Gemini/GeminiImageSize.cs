namespace GenerationWorker.Grains.Gemini;

/// <summary>Maps a job's quality to Gemini's <c>imageConfig.imageSize</c>.</summary>
public static class GeminiImageSize
{
    /// <summary>Tries to map a job quality (<c>1k</c>, <c>2k</c>, <c>4k</c>, any case) to <c>1K</c>, <c>2K</c> or <c>4K</c>.</summary>
    /// <remarks>Gemini rejects a lowercase <c>k</c>, so the value is always sent uppercase.</remarks>
    /// <param name="quality">The job's quality, or null/empty when it asked for none.</param>
    /// <param name="imageSize">The imageSize to send, or null to leave the model's default (1K).</param>
    /// <returns>False when <paramref name="quality"/> is set but is not one of the known sizes.</returns>
    public static bool TryFromQuality(string? quality, out string? imageSize)
    {
        imageSize = null;
        if (string.IsNullOrEmpty(quality))
        {
            return true;
        }

        var upper = quality.ToUpperInvariant();
        if (upper is not ("1K" or "2K" or "4K"))
        {
            return false;
        }

        imageSize = upper;
        return true;
    }

    /// <summary>Maps a job quality to an imageSize, like <see cref="TryFromQuality"/>.</summary>
    /// <param name="quality">The job's quality, or null/empty when it asked for none.</param>
    /// <returns><c>1K</c>, <c>2K</c>, <c>4K</c>, or null when no quality was given.</returns>
    /// <exception cref="ArgumentException">The quality is not one of 1k, 2k, 4k.</exception>
    public static string? FromQuality(string? quality) =>
        TryFromQuality(quality, out var imageSize)
            ? imageSize
            : throw new ArgumentException("Quality must be 1k, 2k or 4k.", nameof(quality));

    /// <summary>
    /// True when <paramref name="model"/> accepts <paramref name="imageSize"/>: gemini-2.5-flash-image has no size
    /// option, gemini-3.1-flash-lite-image only 1K, gemini-3.1-flash-image also 512; other models 1K, 2K and 4K.
    /// </summary>
    /// <param name="model">The model id.</param>
    /// <param name="imageSize">The imageSize to send; null (the model's default) is always accepted.</param>
    /// <returns>Whether the request may carry this imageSize.</returns>
    public static bool IsSupported(string model, string? imageSize)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (imageSize is null)
        {
            return true;
        }

        if (model.StartsWith("gemini-2.5-flash-image", StringComparison.Ordinal))
        {
            return false;
        }

        if (model.StartsWith("gemini-3.1-flash-lite-image", StringComparison.Ordinal))
        {
            return imageSize == "1K";
        }

        if (model.StartsWith("gemini-3.1-flash-image", StringComparison.Ordinal))
        {
            return imageSize is "512" or "1K" or "2K" or "4K";
        }

        return imageSize is "1K" or "2K" or "4K";
    }
}
