using System.Text.Json;

namespace GenerationWorker.Silo.Cli;

/// <summary>
/// The cluster's Gemini budget as the quota grain last saved it, read from grain storage without joining the cluster.
/// </summary>
/// <remarks>
/// The budget size and window are the silos' settings (<c>MAX_JOBS_PER_MINUTE</c>, <c>QUOTA_WINDOW_SECONDS</c>) and are
/// not in the state; what the state holds is every reservation's unsent slots and the send time of each request.
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
    /// <param name="SentInLastMinute">Requests announced within the minute before the reading.</param>
    /// <param name="ReservedUnsent">Slots reserved and still held, not sent yet.</param>
    /// <param name="PausedUntil">When a 429 pause ends, or null when not paused at the reading.</param>
    public sealed record Saved(DateTimeOffset SavedAt, int SentInLastMinute, int ReservedUnsent, DateTimeOffset? PausedUntil) : QuotaReading;

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

            var sent = 0;
            var reserved = 0;
            foreach (var reservation in Items(Property(root, "Reservations")))
            {
                foreach (var at in Items(Property(reservation, "Sent")))
                {
                    if (Time(at) is { } time && now - time < TimeSpan.FromMinutes(1))
                    {
                        sent++;
                    }
                }

                var pending = Property(reservation, "Pending") is { ValueKind: JsonValueKind.Number } p ? p.GetInt32() : 0;
                if (pending > 0 && Time(Property(reservation, "HoldUntil")) is { } holdUntil && now < holdUntil)
                {
                    reserved += pending;
                }
            }

            var paused = Time(Property(root, "PausedUntil")) is { } until && now < until ? until : (DateTimeOffset?)null;
            return new Saved(stored.ModifiedOn, sent, reserved, paused);
        }
        catch (Exception exception) when (exception is JsonException or FormatException or InvalidOperationException)
        {
            return new Unreadable("the saved state is not readable JSON: " + exception.Message);
        }
    }

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
