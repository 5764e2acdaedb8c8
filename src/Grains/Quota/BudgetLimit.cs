using System.Globalization;

namespace GenerationWorker.Grains.Quota;

/// <summary>One limit of a budget: at most <see cref="Requests"/> in any window of <see cref="Window"/>, or per Pacific day.</summary>
/// <param name="Requests">The most requests the limit allows.</param>
/// <param name="Window">The sliding window's length, or null for a Pacific calendar day (Gemini's per-day reset).</param>
public sealed record BudgetLimit(int Requests, TimeSpan? Window)
{
    /// <summary>True for a per-day limit.</summary>
    public bool PerDay => Window is null;

    /// <summary>The limit as it is written in settings: <c>60/60s</c> or <c>1000/day</c>.</summary>
    public override string ToString() => PerDay
        ? string.Create(CultureInfo.InvariantCulture, $"{Requests}/day")
        : string.Create(CultureInfo.InvariantCulture, $"{Requests}/{Window!.Value.TotalSeconds:0.###}s");

    /// <summary>Reads <c>N/Ws</c> (at most N in any W seconds) or <c>N/day</c>.</summary>
    /// <exception cref="FormatException">Not one of those forms, or N or W not positive.</exception>
    public static BudgetLimit Parse(string text)
    {
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0
            || !int.TryParse(text.AsSpan(0, slash).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var requests)
            || requests < 1)
        {
            throw new FormatException($"has '{text}', which is not a limit: write N/Ws (N requests in any W seconds) or N/day, N at least 1");
        }

        var per = text[(slash + 1)..].Trim();
        if (per.Equals("day", StringComparison.OrdinalIgnoreCase))
        {
            return new BudgetLimit(requests, null);
        }

        if (per.EndsWith('s')
            && double.TryParse(per.AsSpan(0, per.Length - 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
            && double.IsFinite(seconds) && seconds >= 1 && seconds <= 86_400)
        {
            return new BudgetLimit(requests, TimeSpan.FromSeconds(seconds));
        }

        throw new FormatException($"has '{text}', which has no window: write N/Ws with W from 1 to 86400 seconds (e.g. 60/60s), or N/day");
    }
}

/// <summary>How a client shares each model's budget: its weight in the round robin, and its own caps.</summary>
/// <param name="Weight">The client's weight (a client of weight 3 gets 3 requests for every 1 of a client of weight 1).</param>
/// <param name="Caps">The client's own limits, counted across every model.</param>
public sealed record ClientBudget(int Weight, IReadOnlyList<BudgetLimit> Caps)
{
    /// <summary>Weight 1, no cap.</summary>
    public static readonly ClientBudget Default = new(1, []);
}

/// <summary>
/// Reads <c>GEMINI_MODEL_BUDGETS</c> and <c>CLIENT_BUDGETS</c>. Errors are <see cref="FormatException"/>s whose message
/// follows the variable's name (<c>GEMINI_MODEL_BUDGETS has 'x', which is not a limit: ...</c>), as every setting's.
/// </summary>
public static class BudgetSettings
{
    /// <summary>
    /// <c>model=limit[,limit...]</c> entries separated by <c>;</c>, each limit <c>N/Ws</c> or <c>N/day</c>.
    /// </summary>
    /// <exception cref="FormatException">An entry is not of that form, or names a model twice.</exception>
    public static IReadOnlyDictionary<string, IReadOnlyList<BudgetLimit>> ParseModelBudgets(string text)
    {
        var models = new Dictionary<string, IReadOnlyList<BudgetLimit>>(StringComparer.Ordinal);
        foreach (var (name, parts) in Entries(text, "model"))
        {
            models.Add(name, [.. parts.Select(BudgetLimit.Parse)]);
        }

        return models;
    }

    /// <summary>
    /// <c>client=part[,part...]</c> entries separated by <c>;</c>, a part being <c>weight:W</c> or a cap <c>N/Ws</c> or
    /// <c>N/day</c>; the client <c>*</c> sets the default of every client not named.
    /// </summary>
    /// <exception cref="FormatException">An entry is not of that form, or names a client twice.</exception>
    public static IReadOnlyDictionary<string, ClientBudget> ParseClientBudgets(string text)
    {
        var clients = new Dictionary<string, ClientBudget>(StringComparer.Ordinal);
        foreach (var (name, parts) in Entries(text, "client"))
        {
            var weight = 1;
            var caps = new List<BudgetLimit>();
            foreach (var part in parts)
            {
                if (part.StartsWith("weight:", StringComparison.OrdinalIgnoreCase))
                {
                    if (!int.TryParse(part.AsSpan(7), NumberStyles.None, CultureInfo.InvariantCulture, out weight) || weight is < 1 or > 1000)
                    {
                        throw new FormatException($"gives client '{name}' '{part}', which is not a weight: write weight:W with W from 1 to 1000");
                    }
                }
                else
                {
                    caps.Add(BudgetLimit.Parse(part));
                }
            }

            clients.Add(name, new ClientBudget(weight, caps));
        }

        return clients;
    }

    private static IEnumerable<(string Name, string[] Parts)> Entries(string text, string what)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = entry.IndexOf('=', StringComparison.Ordinal);
            var name = equals > 0 ? entry[..equals].Trim() : "";
            var parts = equals > 0
                ? entry[(equals + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                : [];
            if (name.Length == 0 || parts.Length == 0)
            {
                throw new FormatException($"has '{entry}', which is not an entry: write {what}=part[,part...]");
            }

            if (!seen.Add(name))
            {
                throw new FormatException($"names {what} '{name}' twice");
            }

            yield return (name, parts);
        }
    }
}

/// <summary>What a spend cap covers.</summary>
public enum SpendScope
{
    /// <summary>Every request of the cluster.</summary>
    Global,

    /// <summary>One client's requests.</summary>
    Client,

    /// <summary>Each client's requests, separately (<c>*</c>).</summary>
    EachClient,
}

/// <summary>One spend cap of <c>SPEND_CAPS</c>: at most <see cref="Micros"/> micro-dollars per Pacific day or month.</summary>
/// <param name="Scope">What it covers.</param>
/// <param name="Client">The client, for <see cref="SpendScope.Client"/>.</param>
/// <param name="Micros">The cap in micro-dollars.</param>
/// <param name="Monthly">True for a Pacific calendar month, false for a Pacific day.</param>
public sealed record SpendCap(SpendScope Scope, string? Client, long Micros, bool Monthly)
{
    /// <summary>The cap as written in settings: <c>global=300/day</c>.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{(Scope == SpendScope.Global ? "global" : Scope == SpendScope.EachClient ? "*" : Client)}={Micros / 1_000_000m:0.######}/{(Monthly ? "month" : "day")}");

    /// <summary>True when the cap counts the requests of <paramref name="client"/>.</summary>
    public bool Covers(string client) => Scope switch
    {
        SpendScope.Global => true,
        SpendScope.EachClient => true,
        _ => Client == client,
    };

    /// <summary>The ledger a request of <paramref name="client"/> is counted in under this cap.</summary>
    public string Ledger(string client) => Scope == SpendScope.Global ? "$global" : "$c:" + client;

    /// <summary>The Pacific day or month of <paramref name="now"/>, as the ledger's period.</summary>
    public string Period(DateTimeOffset now)
    {
        var day = QuotaClock.PacificDay(now);
        return Monthly ? day.ToString("yyyy-MM", CultureInfo.InvariantCulture) : day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
    }

    /// <summary>When the period of <paramref name="now"/> ends (midnight Pacific, of the month's last day for a month).</summary>
    public DateTimeOffset PeriodEnd(DateTimeOffset now)
    {
        var end = QuotaClock.NextPacificMidnight(now);
        while (Monthly && QuotaClock.PacificDay(end).Day != 1)
        {
            end = QuotaClock.NextPacificMidnight(end + TimeSpan.FromHours(1));
        }

        return end;
    }

    /// <summary>
    /// Reads <c>SPEND_CAPS</c>: entries separated by <c>;</c>, each <c>global</c>, a client id or <c>*</c>, <c>=</c>, an
    /// amount in dollars, <c>/day</c> or <c>/month</c>; e.g. <c>global=300/day;*=20/day;client_42=500/month</c>.
    /// </summary>
    /// <exception cref="FormatException">An entry is not of that form.</exception>
    public static IReadOnlyList<SpendCap> ParseAll(string text)
    {
        var caps = new List<SpendCap>();
        foreach (var entry in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = entry.IndexOf('=', StringComparison.Ordinal);
            var slash = entry.LastIndexOf('/');
            var who = equals > 0 ? entry[..equals].Trim() : "";
            var per = slash > equals ? entry[(slash + 1)..].Trim().ToLowerInvariant() : "";
            if (who.Length == 0 || per is not ("day" or "month")
                || !decimal.TryParse(entry.AsSpan(equals + 1, slash - equals - 1).Trim().TrimStart('$'), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var dollars)
                || dollars <= 0 || dollars > 10_000_000)
            {
                throw new FormatException($"'{entry}' is not a cap: write global, a client id or * = dollars /day or /month (e.g. global=300/day)");
            }

            var scope = who == "global" ? SpendScope.Global : who == "*" ? SpendScope.EachClient : SpendScope.Client;
            caps.Add(new SpendCap(scope, scope == SpendScope.Client ? who : null, (long)(dollars * 1_000_000m), per == "month"));
        }

        return caps;
    }
}
