using System.Text.Json;

namespace GenerationWorker.Silo.Cli;

/// <summary>
/// The cluster's Gemini budgets as the quota grain last saved them, read from grain storage without joining the cluster.
/// </summary>
/// <remarks>
/// The limits are the silos' settings (<c>GEMINI_MODEL_BUDGETS</c>, <c>MAX_JOBS_PER_MINUTE</c>) and are not in the
/// state; what the state holds is each model's open leases, when used permits were written, today's use and the pauses.
/// </remarks>
public abstract record QuotaReading
{
    private QuotaReading()
    {
    }

    /// <summary>No state was saved yet: no silo has asked for budget.</summary>
    public sealed record Missing : QuotaReading;

    /// <summary>The row exists but is not the JSON this tool understands.</summary>
    public sealed record Unreadable(string Reason) : QuotaReading;

    /// <summary>The saved state.</summary>
    /// <param name="SavedAt">When the grain last wrote it.</param>
    /// <param name="Models">Each model's figures, by model id.</param>
    public sealed record Saved(DateTimeOffset SavedAt, IReadOnlyList<ModelReading> Models) : QuotaReading;

    /// <summary>One model's budget as saved.</summary>
    /// <param name="Model">The model id.</param>
    /// <param name="SentInLastMinute">Requests written within the minute before the reading.</param>
    /// <param name="Leased">Permits leased to silos, neither used nor given back.</param>
    /// <param name="UsedToday">Permits granted on the current Pacific day.</param>
    /// <param name="PausedUntil">When a 429 pause ends, or null when not paused at the reading.</param>
    public sealed record ModelReading(string Model, int SentInLastMinute, int Leased, int UsedToday, DateTimeOffset? PausedUntil);

    /// <summary>Reads <paramref name="stored"/> as of <paramref name="now"/>.</summary>
    public static QuotaReading From(StoredQuotaState? stored, DateTimeOffset now)
    {
        if (stored is null)
        {
            return new Missing();
        }

        try
        {
            using var document = JsonDocument.Parse(stored.Payload);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return new Unreadable("the saved state is not a JSON object");
            }

            var models = new SortedDictionary<string, ModelReading>(StringComparer.Ordinal);
            ModelReading Of(string model) => models.TryGetValue(model, out var reading) ? reading : models[model] = new ModelReading(model, 0, 0, 0, null);
            foreach (var written in Items(Property(root, "Written")))
            {
                if (ModelOf(written) is { } model && Time(Property(written, "At")) is { } at && now - at < TimeSpan.FromMinutes(1))
                {
                    models[model] = Of(model) with { SentInLastMinute = Of(model).SentInLastMinute + Int(Property(written, "Count")) };
                }
            }

            foreach (var lease in Items(Property(root, "Leases")))
            {
                if (Property(lease, "Model") is { ValueKind: JsonValueKind.String } model)
                {
                    var id = model.GetString()!;
                    models[id] = Of(id) with { Leased = Of(id).Leased + Int(Property(lease, "Open")) };
                }
            }

            foreach (var day in Items(Property(root, "Days")))
            {
                if (ModelOf(day) is { } model)
                {
                    models[model] = Of(model) with { UsedToday = Of(model).UsedToday + Int(Property(day, "Used")) };
                }
            }

            foreach (var pause in Items(Property(root, "Pauses")))
            {
                if (Property(pause, "Model") is { ValueKind: JsonValueKind.String } model
                    && Time(Property(pause, "Until")) is { } until && now < until)
                {
                    models[model.GetString()!] = Of(model.GetString()!) with { PausedUntil = until };
                }
            }

            return new Saved(stored.ModifiedOn, [.. models.Values]);
        }
        catch (Exception exception) when (exception is JsonException or FormatException or InvalidOperationException)
        {
            return new Unreadable("the saved state is not readable JSON: " + exception.Message);
        }
    }

    /// <summary>The model of a model ledger's entry (<c>m:</c> and the id); null for a client's.</summary>
    private static string? ModelOf(JsonElement entry) =>
        Property(entry, "Ledger") is { ValueKind: JsonValueKind.String } ledger && ledger.GetString() is { } text
            && text.StartsWith("m:", StringComparison.Ordinal) ? text[2..] : null;

    private static int Int(JsonElement? element) => element is { ValueKind: JsonValueKind.Number } number ? number.GetInt32() : 0;

    private static JsonElement? Property(JsonElement element, string name)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        foreach (var property in element.EnumerateObject())
        {
            if (property.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return property.Value;
            }
        }

        return null;
    }

    /// <summary>The items of a JSON array, also when a serializer wrapped it as <c>{"$type": ..., "$values": [...]}</c>.</summary>
    private static IEnumerable<JsonElement> Items(JsonElement? element) => element switch
    {
        { ValueKind: JsonValueKind.Array } array => array.EnumerateArray(),
        { ValueKind: JsonValueKind.Object } wrapped when Property(wrapped, "$values") is { ValueKind: JsonValueKind.Array } values
            => values.EnumerateArray(),
        _ => [],
    };

    private static DateTimeOffset? Time(JsonElement? element) =>
        element is { ValueKind: JsonValueKind.String } text ? text.GetDateTimeOffset() : null;
}
