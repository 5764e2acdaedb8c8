using System.Globalization;

namespace GenerationWorker.GeminiEmulator;

/// <summary>
/// Instructions to the emulator written inside the prompt text, such as <c>[emulate:503-once]</c>,
/// <c>[emulate:refuse@gemini-3-pro-image]</c>, <c>[emulate:delay=250ms]</c> or, for Veo, <c>[emulate:video-filtered]</c>.
/// Several may appear, in separate brackets or comma separated in one.
/// </summary>
/// <param name="Fault">The fault to answer with, if a fault directive is present.</param>
/// <param name="Times">For <c>-once</c> / <c>-xN</c>: how many requests with this exact prompt get the fault before
/// later ones succeed; null for every request.</param>
/// <param name="Delay">A latency replacing the configured one.</param>
/// <param name="RetryDelay">For <c>429-retry=5s</c>: the retryDelay to send.</param>
internal readonly record struct PromptDirectives(FaultKind? Fault, int? Times, TimeSpan? Delay, TimeSpan? RetryDelay)
{
    /// <summary>For <c>refuse@gemini-3-pro-image</c>: the only model whose requests get <see cref="Fault"/>; null for all.</summary>
    public string? FaultModel { get; init; }

    /// <summary>Veo: how the operation ends (<c>video-fail[=STATUS]</c>, <c>video-filtered</c>); null for a video.</summary>
    public VideoEnd? VideoEnd { get; init; }

    /// <summary>Veo, <c>video-fail=STATUS</c>: the canonical status of the operation's error; default INTERNAL.</summary>
    public string? VideoErrorStatus { get; init; }

    /// <summary>Veo, <c>lost-start[-once|-xN]</c>: the operation is created and counted, but the start's answer is cut
    /// (null: never; <see cref="int.MaxValue"/>: every start with this prompt; N: the first N).</summary>
    public int? LostStarts { get; init; }

    /// <summary>Veo, <c>download-503[-once|-xN]</c>: how many downloads of each generated file answer 503 before one
    /// succeeds (<see cref="int.MaxValue"/>: all of them).</summary>
    public int? DownloadFailures { get; init; }

    /// <summary>Veo, <c>video-time=2s</c>: how long the operation runs, replacing the configured time.</summary>
    public TimeSpan? VideoTime { get; init; }

    /// <summary>True when <see cref="Fault"/> applies to a request for <paramref name="model"/>.</summary>
    public bool FaultAppliesTo(string model) =>
        Fault is not null && (FaultModel is null || string.Equals(FaultModel, model, StringComparison.Ordinal));

    private const string Opening = "[emulate:";

    /// <summary>Reads the directives of <paramref name="prompt"/>.</summary>
    /// <returns>False, with <paramref name="error"/> set, for an unknown directive.</returns>
    public static bool TryParse(string prompt, out PromptDirectives directives, out string? error)
    {
        directives = default;
        error = null;
        var start = prompt.IndexOf(Opening, StringComparison.OrdinalIgnoreCase);
        while (start >= 0)
        {
            var end = prompt.IndexOf(']', start);
            if (end < 0)
            {
                error = "Unterminated emulator directive: " + prompt[start..];
                return false;
            }

            foreach (var token in prompt[(start + Opening.Length)..end].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!TryApply(token, ref directives))
                {
                    error = $"Unknown emulator directive [emulate:{token}]. Known: 500, 503, 429, 429-retry[=5s], hang, " +
                        "IMAGE_SAFETY, NO_IMAGE, refuse, blocked, precondition (each optionally -once or -xN, then @model), delay=250ms; " +
                        "for Veo: video-fail[=STATUS], video-filtered, lost-start[-once|-xN], download-503[-once|-xN], video-time=2s.";
                    return false;
                }
            }

            start = prompt.IndexOf(Opening, end, StringComparison.OrdinalIgnoreCase);
        }

        return true;
    }

    private static bool TryApply(string token, ref PromptDirectives directives)
    {
        if (token.StartsWith("delay=", StringComparison.OrdinalIgnoreCase))
        {
            if (!TryParseDuration(token["delay=".Length..], out var delay))
            {
                return false;
            }

            directives = directives with { Delay = delay };
            return true;
        }

        if (token.StartsWith("video-time=", StringComparison.OrdinalIgnoreCase))
        {
            if (!TryParseDuration(token["video-time=".Length..], out var time))
            {
                return false;
            }

            directives = directives with { VideoTime = time };
            return true;
        }

        if (token.Equals("video-filtered", StringComparison.OrdinalIgnoreCase))
        {
            directives = directives with { VideoEnd = GeminiEmulator.VideoEnd.Filtered };
            return true;
        }

        if (token.Equals("video-fail", StringComparison.OrdinalIgnoreCase) || token.StartsWith("video-fail=", StringComparison.OrdinalIgnoreCase))
        {
            var status = token.Length > "video-fail=".Length ? token["video-fail=".Length..].ToUpperInvariant() : "INTERNAL";
            if (!VideoOperation.RpcCodes.ContainsKey(status))
            {
                return false;
            }

            directives = directives with { VideoEnd = GeminiEmulator.VideoEnd.Failed, VideoErrorStatus = status };
            return true;
        }

        string? model = null;
        var at = token.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            model = token[(at + 1)..];
            token = token[..at];
            if (model.Length == 0)
            {
                return false;
            }
        }

        int? times = null;
        if (token.EndsWith("-once", StringComparison.OrdinalIgnoreCase))
        {
            times = 1;
            token = token[..^"-once".Length];
        }
        else if (token.LastIndexOf("-x", StringComparison.OrdinalIgnoreCase) is var x and > 0
            && int.TryParse(token.AsSpan(x + 2), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0)
        {
            times = n;
            token = token[..x];
        }

        if (token.Equals("lost-start", StringComparison.OrdinalIgnoreCase) && model is null)
        {
            directives = directives with { LostStarts = times ?? int.MaxValue };
            return true;
        }

        if (token.Equals("download-503", StringComparison.OrdinalIgnoreCase) && model is null)
        {
            directives = directives with { DownloadFailures = times ?? int.MaxValue };
            return true;
        }

        TimeSpan? retryDelay = null;
        if (token.StartsWith("429-retry=", StringComparison.OrdinalIgnoreCase))
        {
            if (!TryParseDuration(token["429-retry=".Length..], out var parsed))
            {
                return false;
            }

            retryDelay = parsed;
            token = "429-retry";
        }

        if (!FaultNames.TryParse(token, out var kind) || kind == FaultKind.None)
        {
            return false;
        }

        directives = directives with { Fault = kind, Times = times, RetryDelay = retryDelay ?? directives.RetryDelay, FaultModel = model };
        return true;
    }

    private static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = default;
        var (number, unit) = text.EndsWith("ms", StringComparison.OrdinalIgnoreCase)
            ? (text[..^2], 1.0)
            : text.EndsWith('s') ? (text[..^1], 1000.0) : (text, 1.0);
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < 0)
        {
            return false;
        }

        duration = TimeSpan.FromMilliseconds(value * unit);
        return true;
    }
}
