using GenerationWorker.Grains.Configuration;

namespace GenerationWorker.Grains.Quota;

/// <summary>
/// The cluster's Gemini budgets: one per model, shared fairly between clients. Each setting's variable, default and
/// range are in <see cref="Settings"/>.
/// </summary>
public sealed class QuotaOptions
{
    /// <summary>
    /// <see cref="Settings.MaxJobsPerMinute"/>: Gemini requests (every variant, every retry) per window for each model
    /// that <see cref="ModelBudgets"/> does not name; 0 turns every budget off.
    /// </summary>
    public int RequestsPerWindow { get; set; } = Settings.MaxJobsPerMinute.Default;

    /// <summary><see cref="Settings.QuotaWindow"/>: the window of <see cref="RequestsPerWindow"/>.</summary>
    public TimeSpan Window { get; set; } = Settings.QuotaWindow.Default;

    /// <summary>
    /// <see cref="Settings.QuotaMargin"/>: how long after a request was written to the connection it may still reach
    /// Gemini (the network's transit). A slot frees one window plus this margin after its request was written.
    /// </summary>
    public TimeSpan? Margin { get; set; }

    /// <summary><see cref="Settings.ModelBudgets"/>: each named model's own limits; empty by default.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<BudgetLimit>> ModelBudgets { get; set; } = Settings.ModelBudgets.Default;

    /// <summary><see cref="Settings.ClientBudgets"/>: each named client's weight and caps (<c>*</c>: every other client's); empty by default.</summary>
    public IReadOnlyDictionary<string, ClientBudget> ClientBudgets { get; set; } = Settings.ClientBudgets.Default;

    /// <summary><see cref="Settings.InteractivePriority"/>: jobs of this priority or lower (and edits) are interactive.</summary>
    public int InteractivePriority { get; set; } = Settings.InteractivePriority.Default;

    /// <summary>
    /// <see cref="Settings.InteractiveReservePercent"/>: the part of each model's budget that other work may borrow only
    /// while no interactive job waits.
    /// </summary>
    public int InteractiveReservePercent { get; set; } = Settings.InteractiveReservePercent.Default;

    /// <summary>
    /// <see cref="Settings.QuotaBurstPercent"/>: the most of a window's budget granted at once; the rest is paced evenly
    /// through the window (and a per-day limit through the day).
    /// </summary>
    public int BurstPercent { get; set; } = Settings.QuotaBurstPercent.Default;

    /// <summary><see cref="Settings.SpendCaps"/>: caps on what Gemini requests cost, cluster-wide, per client or each client.</summary>
    public IReadOnlyList<SpendCap> SpendCaps { get; set; } = Settings.SpendCaps.Default;

    /// <summary>
    /// <see cref="Settings.SpendCapAction"/>: false to wait (a job whose request would pass a cap stays pending until the
    /// period ends), true to fail it with a message naming the cap.
    /// </summary>
    public bool FailOnSpendCap { get; set; } = Settings.SpendCapAction.Default;

    /// <summary>The margin in force: <see cref="Margin"/>, or the default of <see cref="Settings.QuotaMargin"/>.</summary>
    public TimeSpan SafetyMargin => Margin ?? Settings.QuotaMargin.Default;

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
