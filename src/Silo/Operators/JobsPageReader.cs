using GenerationWorker.Grains;
using GenerationWorker.Interfaces;
using Orleans.Runtime;

namespace GenerationWorker.Silo.Operators;

/// <summary>One Gemini budget as it stands.</summary>
/// <param name="Scope">What it covers: a model and one of its limits.</param>
/// <param name="Limit">Requests allowed per window (0: no budget).</param>
/// <param name="Window">The window.</param>
/// <param name="InUse">Slots taken now: sent within the window plus reserved and not yet sent.</param>
/// <param name="SentInWindow">Requests sent within the last window.</param>
/// <param name="PausedUntil">When a 429 pause ends, or null.</param>
/// <param name="PausedWhy">Why it is paused, or null.</param>
/// <param name="UsedToday">For a per-day limit, requests granted today; else null.</param>
public sealed record BudgetRow(
    string Scope, int Limit, TimeSpan Window, int InUse, int SentInWindow, DateTimeOffset? PausedUntil, string? PausedWhy,
    long? UsedToday);

/// <summary>What one active silo runs.</summary>
/// <param name="Silo">The silo's id (its address).</param>
/// <param name="Name">The silo's name.</param>
/// <param name="InFlight">Jobs its dispatcher runs now.</param>
/// <param name="Claiming">False once it stopped claiming (draining, a fatal Gemini error).</param>
/// <param name="StoppedReason">Why it stopped, or null.</param>
public sealed record SiloWork(string Silo, string Name, int InFlight, bool Claiming, string? StoppedReason);

/// <summary>Everything the operator page shows, read at one moment.</summary>
/// <param name="Jobs">The job table's figures.</param>
/// <param name="Budgets">The Gemini budgets: a row per model and limit.</param>
/// <param name="Silos">Each active silo's work.</param>
/// <param name="Clients">Each client's share of the requests written in the last window (top 20).</param>
public sealed record JobsPage(JobsOverview Jobs, IReadOnlyList<BudgetRow> Budgets, IReadOnlyList<SiloWork> Silos, IReadOnlyList<ClientShare> Clients);

/// <summary>
/// The operator page's read model: the job table's figures, the budget and every active silo's dispatcher, read
/// together and shared by every viewer for one second (<see cref="SharedRead{T}"/>), so the page costs the database
/// and the cluster one read per second whatever the number of viewers.
/// </summary>
public sealed class JobsPageReader
{
    /// <summary>How long one read is shown to every viewer.</summary>
    public static readonly TimeSpan Freshness = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);

    private readonly JobsOverviewStore _store;
    private readonly IGrainFactory _grains;
    private readonly IClusterMembershipService _membership;
    private readonly SharedRead<JobsPage> _shared;

    /// <summary>Creates the reader; reads nothing until asked.</summary>
    public JobsPageReader(JobsOverviewStore store, IGrainFactory grains, IClusterMembershipService membership, TimeProvider time)
    {
        _store = store;
        _grains = grains;
        _membership = membership;
        _shared = new SharedRead<JobsPage>(ReadAsync, Freshness, time);
    }

    /// <summary>The page's figures, at most one second old.</summary>
    public Task<JobsPage> GetAsync(CancellationToken cancellationToken) => _shared.GetAsync(cancellationToken);

    private async Task<JobsPage> ReadAsync()
    {
        using var timeout = new CancellationTokenSource(ReadTimeout);
        var jobs = _store.ReadAsync(timeout.Token);
        var quota = _grains.GetGrain<IQuotaGrain>(IQuotaGrain.SingletonKey).GetStatusAsync(timeout.Token);
        var members = _membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).OrderBy(m => m.Name, StringComparer.Ordinal);
        var silos = Task.WhenAll(members.Select(async member =>
        {
            var key = SiloIdentity.Of(member.SiloAddress);
            var status = await _grains.GetGrain<IDispatcherGrain>(key).GetStatusAsync(timeout.Token);
            return new SiloWork(key, member.Name, status.InFlight.Count, status.Claiming, status.StoppedReason);
        }));
        var budget = await quota;
        return new JobsPage(await jobs, [.. budget.Models.SelectMany(Rows)], await silos, budget.Clients);
    }

    private static IEnumerable<BudgetRow> Rows(ModelBudget model) => model.Limits.Select(limit => new BudgetRow(
        $"{model.Model} {limit.Limit}", limit.Allowed, limit.Window ?? TimeSpan.FromDays(1), limit.Used,
        limit.Window is null ? limit.Used : Math.Max(0, limit.Used - model.Leased), model.PausedUntil, model.PausedWhy,
        limit.Window is null ? limit.Used : null));
}
