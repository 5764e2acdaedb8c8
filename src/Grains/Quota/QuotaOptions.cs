namespace GenerationWorker.Grains.Quota;

/// <summary>The cluster's Gemini budgets: one per model, shared fairly between clients.</summary>
public sealed class QuotaOptions
{
    /// <summary>
    /// <c>MAX_JOBS_PER_MINUTE</c>: Gemini requests (every variant, every retry) per window for each model that
    /// <see cref="ModelBudgets"/> does not name; default 60; 0 turns every budget off.
    /// </summary>
    public int RequestsPerWindow { get; set; } = 60;

    /// <summary><c>QUOTA_WINDOW_SECONDS</c>: the window of <see cref="RequestsPerWindow"/>; default 60 s.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// <c>QUOTA_MARGIN_MS</c>: how long after a request was written to the connection it may still reach Gemini (the
    /// network's transit). A slot frees one window plus this margin after its request was written. Default 250 ms.
    /// </summary>
    public TimeSpan? Margin { get; set; }

    /// <summary><c>GEMINI_MODEL_BUDGETS</c>: each named model's own limits; empty by default.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<BudgetLimit>> ModelBudgets { get; set; } =
        new Dictionary<string, IReadOnlyList<BudgetLimit>>(StringComparer.Ordinal);

    /// <summary><c>CLIENT_BUDGETS</c>: each named client's weight and caps (<c>*</c>: every other client's); empty by default.</summary>
    public IReadOnlyDictionary<string, ClientBudget> ClientBudgets { get; set; } =
        new Dictionary<string, ClientBudget>(StringComparer.Ordinal);

    /// <summary><c>INTERACTIVE_PRIORITY</c>: jobs of this priority or lower (and edits) are interactive; default 50.</summary>
    public int InteractivePriority { get; set; } = 50;

    /// <summary>
    /// <c>INTERACTIVE_RESERVE_PERCENT</c>: the part of each model's budget that other work may borrow only while no
    /// interactive job waits; default 10.
    /// </summary>
    public int InteractiveReservePercent { get; set; } = 10;

    /// <summary>
    /// <c>QUOTA_BURST_PERCENT</c>: the most of a window's budget granted at once; the rest is paced evenly through the
    /// window (and a per-day limit through the day). Default 10.
    /// </summary>
    public int BurstPercent { get; set; } = 10;

    /// <summary><c>SPEND_CAPS</c>: caps on what Gemini requests cost, cluster-wide, per client or each client; none by default.</summary>
    public IReadOnlyList<SpendCap> SpendCaps { get; set; } = [];

    /// <summary>
    /// <c>SPEND_CAP_ACTION</c>: <c>wait</c> (default: a job whose request would pass a cap stays pending until the period
    /// ends) or <c>fail</c> (it fails with a message naming the cap).
    /// </summary>
    public bool FailOnSpendCap { get; set; }

    /// <summary>The margin in force: <see cref="Margin"/>, or 250 ms.</summary>
    public TimeSpan SafetyMargin => Margin ?? TimeSpan.FromMilliseconds(250);

    /// <summary>False when every budget is off (<c>MAX_JOBS_PER_MINUTE=0</c>, no model named, no spend cap).</summary>
    public bool Enabled => RequestsPerWindow > 0 || ModelBudgets.Count > 0 || SpendCaps.Count > 0;

    /// <summary>True when <paramref name="client"/>'s permits are counted apart: it has request caps or spend caps.</summary>
    public bool CountsApart(string client) =>
        ClientOf(client).Caps.Count > 0 || SpendCaps.Any(cap => cap.Scope != SpendScope.Global && cap.Covers(client));

    /// <summary>The limits of <paramref name="model"/>: its own, or <see cref="RequestsPerWindow"/> per <see cref="Window"/>.</summary>
    public IReadOnlyList<BudgetLimit> LimitsOf(string model) =>
        ModelBudgets.TryGetValue(model, out var limits) ? limits
        : RequestsPerWindow > 0 ? [new BudgetLimit(RequestsPerWindow, Window)]
        : [];

    /// <summary>The weight and caps of <paramref name="client"/>.</summary>
    public ClientBudget ClientOf(string client) =>
        ClientBudgets.TryGetValue(client, out var budget) ? budget
        : ClientBudgets.TryGetValue("*", out var every) ? every
        : ClientBudget.Default;
}
