namespace GenerationWorker.Grains.Gemini;

/// <summary>Reads google.protobuf.Duration in its JSON form, as Gemini sends RetryInfo.retryDelay.</summary>
public static class ProtobufDuration
{
    // The Duration message allows about 10,000 years either way.
    private const long MaxSeconds = 315_576_000_000;

    /// <summary>
    /// Parses a decimal number of seconds with up to nine fractional digits and a trailing <c>s</c>, for example
    /// <c>37s</c>, <c>45.837906927s</c>, <c>0.5s</c> or <c>-1.5s</c>.
    /// </summary>
    /// <remarks>TimeSpan counts 100 ns ticks, so fractional digits beyond the seventh are truncated.</remarks>
    /// <param name="text">The Duration string; null, empty or malformed text is rejected.</param>
    /// <param name="duration">The parsed duration, or <see cref="TimeSpan.Zero"/> when parsing fails.</param>
    /// <returns>True when <paramref name="text"/> is a valid Duration.</returns>
    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (string.IsNullOrEmpty(text) || text[^1] != 's')
        {
            return false;
        }

        var number = text.AsSpan(0, text.Length - 1);
        var negative = number.StartsWith("-");
        if (negative)
        {
            number = number[1..];
        }

        var dot = number.IndexOf('.');
        var whole = dot < 0 ? number : number[..dot];
        var fraction = dot < 0 ? ReadOnlySpan<char>.Empty : number[(dot + 1)..];
        if (whole.Length is 0 or > 12 || (dot >= 0 && fraction.Length is 0 or > 9)
            || !AllDigits(whole) || !AllDigits(fraction))
        {
            return false;
        }

        var seconds = long.Parse(whole, provider: System.Globalization.CultureInfo.InvariantCulture);
        if (seconds > MaxSeconds)
        {
            return false;
        }

        long fractionTicks = 0;
        for (var i = 0; i < 7; i++)
        {
            fractionTicks = (fractionTicks * 10) + (i < fraction.Length ? fraction[i] - '0' : 0);
        }

        var ticks = (seconds * TimeSpan.TicksPerSecond) + fractionTicks;
        duration = TimeSpan.FromTicks(negative ? -ticks : ticks);
        return true;
    }

    private static bool AllDigits(ReadOnlySpan<char> span)
    {
        foreach (var c in span)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }

        return true;
    }
}
