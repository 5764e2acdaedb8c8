using System.Globalization;
using GenerationWorker.Silo.Hosting;

namespace GenerationWorker.Silo.Cli;

/// <summary><c>stats</c>: jobs by status, the last minute's throughput, and the Gemini budget as last saved.</summary>
internal static class StatsCommand
{
    private static readonly string[] Statuses = ["pending", "processing", "completed", "failed", "cancelled"];

    /// <summary>Prints the statistics.</summary>
    public static async Task<int> RunAsync(CliArguments args, CliContext context)
    {
        args.NoPositionals();
        var ct = context.CancellationToken;
        var counts = await context.Store.CountByStatusAsync(ct);
        var recent = await context.Store.RecentActivityAsync(ct);
        var quota = QuotaReading.From(await context.Store.QuotaStateAsync(SiloHostingExtensions.ServiceId, ct), recent.Now);
        var output = context.Out;

        await output.WriteLineAsync("jobs");
        foreach (var status in Statuses.Concat(counts.Keys.Except(Statuses)))
        {
            await output.WriteLineAsync($"  {status,-34}{counts.GetValueOrDefault(status)}");
        }

        await output.WriteLineAsync("last minute");
        await output.WriteLineAsync($"  {"completed",-34}{recent.Completed}");
        await output.WriteLineAsync($"  {"failed",-34}{recent.Failed}");
        await output.WriteLineAsync($"  {"images stored",-34}{recent.ImagesStored}");
        var oldestWait = recent.OldestClaimable is { } oldest ? Seconds(recent.Now - oldest) : "none waiting";
        await output.WriteLineAsync($"  {"oldest claimable job waited",-34}{oldestWait}");

        switch (quota)
        {
            case QuotaReading.Saved saved:
                await output.WriteLineAsync($"gemini budget (saved by the quota grain {Seconds(recent.Now - saved.SavedAt)} ago)");
                await output.WriteLineAsync($"  {"model",-34}{"sent/min",10}{"leased",8}{"today",8}  paused");
                foreach (var model in saved.Models)
                {
                    var paused = model.PausedUntil is { } until ? "until " + Text.When(until) : "no";
                    await output.WriteLineAsync($"  {model.Model,-34}{model.SentInLastMinute,10}{model.Leased,8}{model.UsedToday,8}  {paused}");
                }

                break;
            case QuotaReading.Unreadable unreadable:
                await output.WriteLineAsync($"gemini budget: {unreadable.Reason}");
                break;
            default:
                await output.WriteLineAsync("gemini budget: nothing saved yet (no silo has asked for budget)");
                break;
        }

        var waiting = await context.Store.WaitingByClientAsync(ct);
        if (waiting.Count > 0)
        {
            await output.WriteLineAsync("waiting Gemini requests by client (top 20)");
            foreach (var (client, jobs, requests) in waiting)
            {
                await output.WriteLineAsync($"  {client,-34}{requests,10} requests in {jobs} jobs");
            }
        }

        await output.WriteLineAsync("  (the limits are the silos' GEMINI_MODEL_BUDGETS / MAX_JOBS_PER_MINUTE; live view with shares: GET /status on a silo)");
        return OperatorCli.Success;
    }

    private static string Seconds(TimeSpan span) =>
        Math.Max(0, span.TotalSeconds).ToString("0.0", CultureInfo.InvariantCulture) + " s";
}
