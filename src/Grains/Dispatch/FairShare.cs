using GenerationWorker.Grains.Quota;

namespace GenerationWorker.Grains.Dispatch;

/// <summary>A job the dispatcher may claim, routed to the model whose budget it spends.</summary>
/// <param name="Id">The job id.</param>
/// <param name="Client">Its client.</param>
/// <param name="Priority">Lower goes first.</param>
/// <param name="Key">The permits it spends: its first model's (and its client's own, when capped).</param>
/// <param name="Cost">Gemini requests it needs (0 for a video being polled).</param>
/// <param name="Interactive">True for an interactive job (low priority number, or an edit): it may use the reserve.</param>
public sealed record FairShareJob(string Id, string Client, int Priority, PoolKey Key, int Cost, bool Interactive);

/// <summary>What to claim now, and the permits still wanted for the jobs that wait.</summary>
/// <param name="Chosen">The jobs to claim, each with a permit the pool holds for at least its first request.</param>
/// <param name="Wanted">Per pool key: the requests of the chosen jobs and of the next jobs the pool does not cover, and
/// whether one is interactive.</param>
public sealed record FairSharePlan(IReadOnlyList<FairShareJob> Chosen, IReadOnlyDictionary<PoolKey, (int Requests, bool Interactive)> Wanted);

/// <summary>
/// Shares each model's permits between the clients that wait, by weighted deficit round robin on requests: each turn a
/// client's deficit grows by its weight, and it starts jobs while their cost (a 4-variant job costs 4) fits its
/// deficit. Lower priority goes first: the round robin runs within the lowest priority that waits. Work-conserving: a
/// lone client gets every permit. A job starts once the pool holds a permit for its first request (its others take the
/// next permits), and jobs of one model never skip ahead of a job the model's permits cannot start yet.
/// </summary>
/// <remarks>The deficits and each model's place in its turn last from one claim to the next (one instance per dispatcher).</remarks>
public sealed class FairShare(Func<string, int> weightOf)
{
    private readonly Dictionary<(string Model, string Client), int> _deficits = [];
    private readonly Dictionary<string, string> _lastServed = new(StringComparer.Ordinal);

    /// <summary>Chooses, among <paramref name="jobs"/> (in claim order), at most <paramref name="slots"/> to claim.</summary>
    /// <param name="jobs">The claimable jobs, in (priority, created_at) order.</param>
    /// <param name="slots">How many jobs may start (jobs that send no request do not count).</param>
    /// <param name="available">The permits the pool holds for a key.</param>
    public FairSharePlan Plan(IReadOnlyList<FairShareJob> jobs, int slots, Func<PoolKey, int> available)
    {
        var chosen = jobs.Where(j => j.Cost == 0).ToList();
        var wanted = new Dictionary<PoolKey, (int Requests, bool Interactive)>();
        var left = new Dictionary<PoolKey, int>();
        int Left(PoolKey key) => left.TryGetValue(key, out var n) ? n : left[key] = available(key);

        foreach (var model in jobs.Where(j => j.Cost > 0).GroupBy(j => j.Key.Model, StringComparer.Ordinal).ToList())
        {
            var waiting = model.ToList();
            var blocked = new HashSet<string>(StringComparer.Ordinal);
            foreach (var level in waiting.GroupBy(j => j.Priority).OrderBy(g => g.Key))
            {
                if (slots == 0)
                {
                    break;
                }

                var queues = level.GroupBy(j => j.Client, StringComparer.Ordinal)
                    .ToDictionary(g => g.Key, g => new Queue<FairShareJob>(g), StringComparer.Ordinal);
                var ring = queues.Keys.Order(StringComparer.Ordinal).ToList();
                var start = _lastServed.TryGetValue(model.Key, out var last) ? ring.FindIndex(c => string.CompareOrdinal(c, last) > 0) : 0;
                var turn = start < 0 ? 0 : start;
                var idleTurns = 0;
                bool Blocked(string client, Queue<FairShareJob> queue) =>
                    queue.Count == 0 || blocked.Contains(client) || (blocked.Contains("") && queue.Peek().Key.Client is null);
                while (slots > 0 && idleTurns < ring.Count * 9)
                {
                    var client = ring[turn % ring.Count];
                    turn++;
                    var queue = queues[client];
                    if (Blocked(client, queue))
                    {
                        idleTurns++;
                        if (queues.All(q => Blocked(q.Key, q.Value)))
                        {
                            break;
                        }

                        continue;
                    }

                    var deficitKey = (model.Key, client);
                    var deficit = _deficits.GetValueOrDefault(deficitKey) + weightOf(client);
                    var served = false;
                    while (queue.Count > 0 && slots > 0 && queue.Peek().Cost <= deficit)
                    {
                        var job = queue.Peek();
                        var pooled = Left(job.Key);
                        if (pooled == 0)
                        {
                            // A client counted apart waits alone for its own permits; the model's shared permits short stop
                            // every client that draws on them (no job skips ahead of one they cannot start yet).
                            blocked.Add(job.Key.Client is null ? "" : client);
                            break;
                        }

                        // A job starts on its first request's permit; its other requests take the next permits to
                        // arrive (SiloBudget.TakeAsync), which the pool leases now. Permits never wait in the pool for
                        // a job's last one, holding slots of the window unused.
                        queue.Dequeue();
                        left[job.Key] = Math.Max(0, pooled - job.Cost);
                        if (job.Cost > pooled)
                        {
                            var (requests, interactive) = wanted.GetValueOrDefault(job.Key);
                            wanted[job.Key] = (requests + job.Cost - pooled, interactive || job.Interactive);
                        }

                        deficit -= job.Cost;
                        chosen.Add(job);
                        slots--;
                        served = true;
                        _lastServed[model.Key] = client;
                    }

                    // An empty queue forgets its deficit (DRR); a waiting one keeps at most one head's worth.
                    _deficits[deficitKey] = queue.Count == 0 ? 0 : Math.Min(deficit, queue.Peek().Cost + weightOf(client));
                    idleTurns = served ? 0 : idleTurns + 1;
                }
            }

            // The next jobs of the model that nothing covers: what to lease.
            foreach (var job in waiting.Where(j => !chosen.Contains(j)).Take(Math.Max(slots, 1) + 8))
            {
                var (requests, interactive) = wanted.GetValueOrDefault(job.Key);
                wanted[job.Key] = (requests + job.Cost, interactive || job.Interactive);
            }
        }

        return new FairSharePlan(chosen, wanted);
    }
}
