namespace GenerationWorker.Grains.Quota;

/// <summary>What the quota grain persists: the open leases, when used permits were written, each day's use, the pauses.</summary>
/// <remarks>Stored as JSON by the ADO.NET grain storage; public settable properties keep it readable in the table.</remarks>
[GenerateSerializer, Alias("BudgetState")]
public sealed class BudgetState
{
    /// <summary>Leases with permits neither used nor given back.</summary>
    [Id(0)]
    public List<LeaseRecord> Leases { get; set; } = [];

    /// <summary>Used permits still inside some window, by ledger and time slice.</summary>
    [Id(1)]
    public List<WrittenSlice> Written { get; set; } = [];

    /// <summary>Permits granted on the current Pacific day, by ledger.</summary>
    [Id(2)]
    public List<DayUse> Days { get; set; } = [];

    /// <summary>Models paused by a 429.</summary>
    [Id(3)]
    public List<ModelPause> Pauses { get; set; } = [];

    /// <summary>What requests cost, per spend ledger and period (Pacific day or month).</summary>
    [Id(4)]
    public List<SpendUse> Spend { get; set; } = [];
}

/// <summary>What a spend ledger's requests cost in one period.</summary>
[GenerateSerializer, Alias("SpendUse")]
public sealed class SpendUse
{
    /// <summary>The ledger: <c>$global</c>, or <c>$c:</c> and a client.</summary>
    [Id(0)]
    public string Ledger { get; set; } = "";

    /// <summary>The period: a Pacific day (yyyy-MM-dd) or month (yyyy-MM).</summary>
    [Id(1)]
    public string Period { get; set; } = "";

    /// <summary>Micro-dollars charged (billed, or possibly billed).</summary>
    [Id(2)]
    public long Micros { get; set; }
}

/// <summary>Permits leased to a silo at once.</summary>
[GenerateSerializer, Alias("LeaseRecord")]
public sealed class LeaseRecord
{
    /// <summary>The lease's id.</summary>
    [Id(0)]
    public Guid Id { get; set; }

    /// <summary>The silo it was leased to.</summary>
    [Id(1)]
    public string Silo { get; set; } = "";

    /// <summary>The model its permits are for.</summary>
    [Id(2)]
    public string Model { get; set; } = "";

    /// <summary>The capped client its permits also count against, or null.</summary>
    [Id(3)]
    public string? Client { get; set; }

    /// <summary>Permits neither reported used nor given back.</summary>
    [Id(4)]
    public int Open { get; set; }

    /// <summary>No permit of the lease is sent after this time.</summary>
    [Id(5)]
    public DateTimeOffset UseBy { get; set; }

    /// <summary>When it was granted (the day its permits count in).</summary>
    [Id(6)]
    public DateTimeOffset GrantedAt { get; set; }

    /// <summary>The price reserved for each permit against the spend caps (the model's dearest request), in micro-dollars.</summary>
    [Id(7)]
    public long PriceEach { get; set; }

    /// <summary>Permits whose cost is not yet known (neither priced after their answer nor given back).</summary>
    [Id(8)]
    public int Unpriced { get; set; }
}

/// <summary>Used permits of a ledger written in one time slice (its end: the latest they may have been written).</summary>
[GenerateSerializer, Alias("WrittenSlice")]
public sealed class WrittenSlice
{
    /// <summary>The ledger: <c>m:</c> and a model, or <c>c:</c> and a capped client.</summary>
    [Id(0)]
    public string Ledger { get; set; } = "";

    /// <summary>The slice's end.</summary>
    [Id(1)]
    public DateTimeOffset At { get; set; }

    /// <summary>How many.</summary>
    [Id(2)]
    public int Count { get; set; }
}

/// <summary>A ledger's permits granted on one Pacific day.</summary>
[GenerateSerializer, Alias("DayUse")]
public sealed class DayUse
{
    /// <summary>The ledger.</summary>
    [Id(0)]
    public string Ledger { get; set; } = "";

    /// <summary>The Pacific day.</summary>
    [Id(1)]
    public DateOnly Day { get; set; }

    /// <summary>Permits granted that day, less those given back.</summary>
    [Id(2)]
    public int Used { get; set; }
}

/// <summary>A model paused by a 429.</summary>
[GenerateSerializer, Alias("ModelPause")]
public sealed class ModelPause
{
    /// <summary>The model.</summary>
    [Id(0)]
    public string Model { get; set; } = "";

    /// <summary>When the pause ends.</summary>
    [Id(1)]
    public DateTimeOffset Until { get; set; }

    /// <summary>True when a per-day quota was exhausted.</summary>
    [Id(2)]
    public bool PerDay { get; set; }

    /// <summary>429s without a retryDelay in a row: drives the backoff.</summary>
    [Id(3)]
    public int Consecutive { get; set; }
}
