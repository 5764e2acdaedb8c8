using System.Globalization;

namespace GenerationWorker.Silo.Cli;

/// <summary>How the commands print times, bars and tables.</summary>
internal static class Text
{
    /// <summary>A UTC time to the second, e.g. <c>2025-01-31 14:05:09Z</c>.</summary>
    public static string When(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>A progress bar of <paramref name="width"/> cells for 0..100 percent, e.g. <c>[#####     ]</c>.</summary>
    public static string Bar(int percent, int width)
    {
        var filled = Math.Clamp(percent, 0, 100) * width / 100;
        return "[" + new string('#', filled) + new string('.', width - filled) + "]";
    }

    /// <summary>The first line of <paramref name="text"/>, cut to <paramref name="max"/> characters.</summary>
    public static string Shorten(string? text, int max)
    {
        if (text is null)
        {
            return "";
        }

        var line = Clean(text.ReplaceLineEndings(" "));
        return line.Length <= max ? line : line[..(max - 3)] + "...";
    }

    /// <summary>
    /// <paramref name="text"/> (written by tenants: ids, types, errors echoing payloads) safe to print on a terminal:
    /// control characters (escape sequences, carriage returns, bells) and bidirectional overrides become '?'.
    /// </summary>
    public static string Clean(string? text)
    {
        if (text is null)
        {
            return "";
        }

        return text.Any(IsUnsafe) ? string.Create(text.Length, text, (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = IsUnsafe(source[i]) ? '?' : source[i];
            }
        }) : text;
    }

    private static bool IsUnsafe(char c) =>
        char.IsControl(c) || c is '\u200E' or '\u200F' or (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069');

    /// <summary>Writes left-aligned columns separated by two spaces.</summary>
    public static async Task WriteTableAsync(TextWriter output, string[] headers, IEnumerable<string[]> rows)
    {
        var all = rows.Prepend(headers).ToList();
        var widths = headers.Select((_, column) => all.Max(row => row[column].Length)).ToArray();
        foreach (var row in all)
        {
            var cells = row.Select((cell, column) => column == row.Length - 1 ? cell : cell.PadRight(widths[column]));
            await output.WriteLineAsync(string.Join("  ", cells).TrimEnd());
        }
    }
}
