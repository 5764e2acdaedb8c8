namespace GenerationWorker.Grains.Imaging;

/// <summary>
/// An image could not be encoded because of what it is: not an image of a known format, or one its decoder rejects
/// (truncated, corrupt). The same bytes would fail again: a job that meets one fails without retry.
/// </summary>
/// <remarks>
/// Failures of the temporary directory (full disk, missing directory) are not this type: they surface as
/// <see cref="IOException"/>, a fault of the machine, worth retrying. The message never contains image bytes.
/// </remarks>
public sealed class ImageEncodeException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ImageEncodeException(ImageEncodeFailure failure, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Failure = failure;
    }

    /// <summary>What was wrong with the image.</summary>
    public ImageEncodeFailure Failure { get; }
}

/// <summary>The kinds of <see cref="ImageEncodeException"/>.</summary>
public enum ImageEncodeFailure
{
    /// <summary>The bytes start with no signature of PNG, JPEG, WebP or GIF (whatever MIME type came with them).</summary>
    UnknownFormat,

    /// <summary>The signature is known but the decoder failed: truncated or corrupt data.</summary>
    Corrupt,
}
