using System.Globalization;

namespace GenerationWorker.GeminiEmulator;

/// <summary>
/// Instructions to the emulator written inside the prompt text, such as <c>[emulate:503-once]</c> or
/// <c>[emulate:delay=250ms]</c>. Several may appear, in separate brackets or comma separated in one.
/// </summary>
/// <param name="Fault">The fault to answer with, if a fault directive is present.</param>
/// <param name="Times">For <c>-once</c> / <c>-xN</c>: how many requests with this exact prompt get the fault before
/// later ones succeed; null for every request.</param>
/// <param name="Delay">A latency replacing the configured one.</param>
/// <param name="RetryDelay">For <c>429-retry=5s</c>: the retryDelay to send.</param>
internal readonly record struct PromptDirectives(FaultKind? Fault, int? Times, TimeSpan? Delay, TimeSpan? RetryDelay)
{
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
                        "IMAGE_SAFETY, NO_IMAGE, refuse, blocked (each optionally -once or -xN), delay=250ms.";
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

        directives = directives with { Fault = kind, Times = times, RetryDelay = retryDelay ?? directives.RetryDelay };
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
