using GenerationWorker.Grains.Dispatch;
using GenerationWorker.Grains.Quota;

namespace GenerationWorker.Grains.Tests.Dispatch;

/// <summary>The weighted deficit round robin between clients, claim after claim, as the dispatcher runs it.</summary>
public sealed class FairShareTests
{
    private static readonly PoolKey Flash = new("gemini-2.5-flash-image", null);

    [Fact]
    public void AClientWithAFewJobs_IsServedAlongsideAFlood_NotAfterIt()
    {
        var share = new FairShare(_ => 1);
        var queue = Jobs("a", 600).Concat(Jobs("b", 20)).ToList();

        var served = Serve(share, queue, claims: 20, permitsPerClaim: 2);

        // 40 permits while both wait: half each (the turn starts with one of them).
        Assert.InRange(served["b"], 19, 21);
        Assert.Equal(40, served["a"] + served["b"]);
    }

    [Fact]
    public void Weights_GiveProportionalShares_OnRequests()
    {
        var share = new FairShare(client => client == "a" ? 3 : 1);
        var queue = Jobs("a", 1000).Concat(Jobs("b", 400, cost: 4)).ToList();

        var served = ServeRequests(share, queue, claims: 100, permitsPerClaim: 8);

        Assert.InRange(served["a"] / (double)served["b"], 2.7, 3.3);
    }

    [Fact]
    public void ALoneClient_GetsEveryPermit()
    {
        var share = new FairShare(_ => 1);
        var plan = share.Plan(Jobs("a", 50).ToList(), slots: 50, _ => 30);

        Assert.Equal(30, plan.Chosen.Count);
    }

    [Fact]
    public void LowerPriority_GoesFirst_WhateverTheShares()
    {
        var share = new FairShare(_ => 1);
        var queue = Jobs("a", 10, priority: 100).Concat(Jobs("b", 3, priority: 10)).ToList();

        var plan = share.Plan(queue, slots: 10, _ => 4);

        Assert.Equal(["b", "b", "b", "a"], plan.Chosen.Select(j => j.Client));
    }

    [Fact]
    public void AJobThePoolCoversInPart_StartsOnItsFirstPermits_AndTheRestAreWanted()
    {
        var share = new FairShare(_ => 1);
        var queue = Jobs("a", 1, cost: 4).Concat(Jobs("a", 5)).ToList();

        var plan = share.Plan(queue, slots: 5, _ => 3);

        // The 4-variant job starts on the 3 permits; the jobs behind it wait for the permits after its fourth.
        Assert.Equal(["a-0"], plan.Chosen.Select(j => j.Id));
        Assert.Equal(1 + 5, plan.Wanted[Flash].Requests);
    }

    [Fact]
    public void NoJobStarts_WithoutAPermit_AndNoneSkipsAhead()
    {
        var share = new FairShare(_ => 1);
        var queue = Jobs("a", 1, cost: 4).Concat(Jobs("a", 5)).ToList();

        var plan = share.Plan(queue, slots: 5, _ => 0);

        Assert.Empty(plan.Chosen);
        Assert.True(plan.Wanted[Flash].Requests >= 4);
    }

    [Fact]
    public void AClientCountedApart_UsesItsOwnPermits_WhileTheSharedOnesAreShort()
    {
        var share = new FairShare(_ => 1);
        var own = Flash with { Client = "b" };
        var queue = Jobs("a", 5).Concat(Enumerable.Range(0, 3).Select(i => new FairShareJob($"b-{i}", "b", 100, own, 1, Interactive: false))).ToList();

        var plan = share.Plan(queue, slots: 10, key => key == own ? 2 : 0);

        Assert.Equal(["b", "b"], plan.Chosen.Select(j => j.Client));
    }

    [Fact]
    public void AnInteractiveJobsWant_IsMarkedInteractive()
    {
        var share = new FairShare(_ => 1);
        var queue = Jobs("a", 5).Append(new FairShareJob("urgent", "b", 100, Flash, 1, Interactive: true)).ToList();

        var plan = share.Plan(queue, slots: 5, _ => 0);

        Assert.True(plan.Wanted[Flash].Interactive);
    }

    private static IEnumerable<FairShareJob> Jobs(string client, int count, int cost = 1, int priority = 100) =>
        Enumerable.Range(0, count).Select(i => new FairShareJob($"{client}-{i}", client, priority, Flash, cost, Interactive: false));

    /// <summary>Claims <paramref name="claims"/> times with a few permits each; counts the jobs each client got.</summary>
    private static Dictionary<string, int> Serve(FairShare share, List<FairShareJob> queue, int claims, int permitsPerClaim) =>
        Run(share, queue, claims, permitsPerClaim, job => 1);

    /// <summary>As <see cref="Serve"/>, counting requests (a job's cost) instead of jobs.</summary>
    private static Dictionary<string, int> ServeRequests(FairShare share, List<FairShareJob> queue, int claims, int permitsPerClaim) =>
        Run(share, queue, claims, permitsPerClaim, job => job.Cost);

    /// <summary>
    /// As the dispatcher claims: each look sees every client's first jobs (the peek reads a few per client); the permits
    /// a claim does not use stay in the pool for the next.
    /// </summary>
    private static Dictionary<string, int> Run(FairShare share, List<FairShareJob> queue, int claims, int permitsPerClaim, Func<FairShareJob, int> count)
    {
        var served = new Dictionary<string, int> { ["a"] = 0, ["b"] = 0 };
        var pool = 0;
        for (var i = 0; i < claims; i++)
        {
            pool += permitsPerClaim;
            var candidates = queue.Where(j => j.Client == "a").Take(20).Concat(queue.Where(j => j.Client == "b").Take(20)).ToList();
            // A job started on part of its permits takes the next ones first: the pool owes them (below zero).
            foreach (var job in share.Plan(candidates, slots: 100, _ => Math.Max(pool, 0)).Chosen)
            {
                served[job.Client] += count(job);
                pool -= job.Cost;
                queue.Remove(job);
            }
        }

        return served;
    }
}
