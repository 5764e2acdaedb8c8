namespace GenerationWorker.Grains.Quota;

/// <summary>What the quota grain persists: the reservations that still hold slots, and the 429 pause.</summary>
/// <remarks>Stored as JSON by the ADO.NET grain storage; public settable properties keep it readable in the table.</remarks>
[GenerateSerializer, Alias("QuotaState")]
public sealed class QuotaState
{
    /// <summary>Reservations that still hold slots.</summary>
    [Id(0)]
    public List<QuotaReservation> Reservations { get; set; } = [];

    /// <summary>When the pause after a 429 ends, or null.</summary>
    [Id(1)]
    public DateTimeOffset? PausedUntil { get; set; }

    /// <summary>429s without a retryDelay in a row: drives the pause's exponential backoff.</summary>
    [Id(2)]
    public int ConsecutiveThrottles { get; set; }
}

/// <summary>Slots granted to one silo at once.</summary>
[GenerateSerializer, Alias("QuotaReservation")]
public sealed class QuotaReservation
{
    /// <summary>The reservation's id, handed to the jobs that use it.</summary>
    [Id(0)]
    public Guid Id { get; set; }

    /// <summary>The silo it was granted to (for fair sharing).</summary>
    [Id(1)]
    public string SiloId { get; set; } = "";

    /// <summary>Slots reserved and not yet sent nor released.</summary>
    [Id(2)]
    public int Pending { get; set; }

    /// <summary>Until when the pending slots are held; after it they free, and a late request needs a fresh slot.</summary>
    [Id(3)]
    public DateTimeOffset HoldUntil { get; set; }

    /// <summary>When each used slot's request was announced: each slot frees one window (plus margin) later.</summary>
    [Id(4)]
    public List<DateTimeOffset> Sent { get; set; } = [];
}
