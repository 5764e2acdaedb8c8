using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace GenerationWorker.Bench.Harness;

/// <summary>A printed table.</summary>
internal sealed class Table(string title, params string[] headers)
{
    private readonly List<string[]> _rows = [];

    /// <summary>The title line.</summary>
    public string Title { get; } = title;

    /// <summary>Adds a row (values already formatted).</summary>
    public Table Row(params object?[] values)
    {
        _rows.Add([.. values.Select(Format)]);
        return this;
    }

    /// <summary>The table as aligned text.</summary>
    public override string ToString()
    {
        var widths = headers.Select((h, i) => Math.Max(h.Length, _rows.Count == 0 ? 0 : _rows.Max(r => i < r.Length ? r[i].Length : 0))).ToArray();
        var text = new StringBuilder().AppendLine(Title);
        text.AppendLine(string.Join(" | ", headers.Select((h, i) => h.PadRight(widths[i]))).TrimEnd());
        text.AppendLine(string.Join("-|-", widths.Select(w => new string('-', w))));
        foreach (var row in _rows)
        {
            text.AppendLine(string.Join(" | ", row.Select((v, i) => v.PadRight(widths[i]))).TrimEnd());
        }

        return text.ToString();
    }

    /// <summary>Formats a value for a table cell.</summary>
    public static string Format(object? value) => value switch
    {
        null => "-",
        double d => d.ToString(Math.Abs(d) >= 100 ? "0" : Math.Abs(d) >= 10 ? "0.0" : "0.00", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}

/// <summary>What a figure measured: tables to print, notes, and the machine-readable data.</summary>
internal sealed class FigureResult(string name)
{
    /// <summary>The figure's name (pickup, throughput...).</summary>
    public string Name { get; } = name;

    /// <summary>Printed tables.</summary>
    public List<Table> Tables { get; } = [];

    /// <summary>Printed remarks (targets met or missed, caveats).</summary>
    public List<string> Notes { get; } = [];

    /// <summary>The JSON written to the results file.</summary>
    public JsonObject Data { get; } = [];

    /// <summary>Prints the tables and notes.</summary>
    public void Print()
    {
        Console.WriteLine();
        Console.WriteLine($"== {Name} ==");
        foreach (var table in Tables)
        {
            Console.WriteLine(table);
        }

        foreach (var note in Notes)
        {
            Console.WriteLine("  * " + note);
        }
    }

    /// <summary>Adds <paramref name="value"/> (any serializable object) to the JSON under <paramref name="key"/>.</summary>
    public void Set(string key, object? value) => Data[key] = JsonSerializer.SerializeToNode(value, Results.Json);
}

/// <summary>Writes results files.</summary>
internal static class Results
{
    /// <summary>camelCase, indented.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>Writes <paramref name="data"/> to <paramref name="path"/>, creating its folder.</summary>
    public static void Write(string path, JsonNode data)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, data.ToJsonString(Json) + "\n");
        Console.WriteLine($"  -> {path}");
    }
}

/// <summary>Percentiles by nearest rank.</summary>
internal static class Percentiles
{
    /// <summary>The <paramref name="p"/>-th percentile (0..100) of <paramref name="values"/>, nearest rank.</summary>
    public static double Of(IReadOnlyList<double> values, double p)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToList();
        var rank = (int)Math.Ceiling(p / 100 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }
}
