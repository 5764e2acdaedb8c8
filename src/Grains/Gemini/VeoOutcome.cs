namespace GenerationWorker.Grains.Gemini;

/// <summary>What a Veo start request (<c>predictLongRunning</c>) produced; callers switch on the type.</summary>
public abstract record VeoStart
{
    private VeoStart()
    {
    }

    /// <summary>The operation was created: it runs, and is paid for, whatever happens to the job.</summary>
    /// <param name="OperationName"><c>models/{model}/operations/{id}</c>, the only handle on it.</param>
    public sealed record Started(string OperationName) : VeoStart;

    /// <summary>No answer arrived (a dropped connection, a timeout): an operation may or may not have been created.</summary>
    /// <param name="Message">What happened, without secrets.</param>
    public sealed record Unknown(string Message) : VeoStart;

    /// <summary>Gemini answered with an error: no operation was created.</summary>
    /// <param name="Outcome">The error, mapped as for images (retryable, throttled, fatal, model not found, rejected).</param>
    public sealed record Refused(GeminiOutcome Outcome) : VeoStart;
}

/// <summary>What one poll of a Veo operation said.</summary>
public abstract record VeoPoll
{
    private VeoPoll()
    {
    }

    /// <summary>Still generating.</summary>
    public sealed record Running : VeoPoll;

    /// <summary>Done: the video can be downloaded from <paramref name="VideoUri"/> (for about two days).</summary>
    /// <param name="VideoUri">The file's download URI (it carries no key; never log its query anyway).</param>
    public sealed record Done(Uri VideoUri) : VeoPoll;

    /// <summary>The operation ended with an error (google.rpc.Status): it produced nothing.</summary>
    /// <param name="Code">The google.rpc code (13 INTERNAL...).</param>
    /// <param name="Status">The status name, or null.</param>
    /// <param name="Message">The error's message.</param>
    public sealed record Failed(int Code, string? Status, string Message) : VeoPoll;

    /// <summary>The operation ended without a video because of the safety filters: permanent for this prompt.</summary>
    /// <param name="Reasons">The <c>raiMediaFilteredReasons</c>.</param>
    public sealed record Filtered(IReadOnlyList<string> Reasons) : VeoPoll;

    /// <summary>The poll itself failed (an HTTP error or no answer); the operation is not affected by it.</summary>
    /// <param name="Outcome">The error, mapped as for images.</param>
    public sealed record Unreachable(GeminiOutcome Outcome) : VeoPoll;
}

/// <summary>What a video download produced.</summary>
public abstract record VeoDownload
{
    private VeoDownload()
    {
    }

    /// <summary>
    /// The MP4, in a temporary file deleted when this is disposed; <see cref="Content"/> is seekable and at its start.
    /// </summary>
    /// <param name="Content">The file, open for reading.</param>
    public sealed record Saved(FileStream Content) : VeoDownload, IDisposable
    {
        /// <inheritdoc />
        public void Dispose() => Content.Dispose();
    }

    /// <summary>The download failed (an HTTP error or a cut connection): try again later, the file stays for ~2 days.</summary>
    /// <param name="Outcome">The error, mapped as for images.</param>
    public sealed record Failed(GeminiOutcome Outcome) : VeoDownload;
}
