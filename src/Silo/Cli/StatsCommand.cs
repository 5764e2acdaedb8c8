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
        var waiting = recent.OldestClaimable is { } oldest ? Seconds(recent.Now - oldest) : "none waiting";
        await output.WriteLineAsync($"  {"oldest claimable job waited",-34}{waiting}");

        switch (quota)
        {
            case QuotaReading.Saved saved:
                await output.WriteLineAsync($"gemini budget (saved by the quota grain {Seconds(recent.Now - saved.SavedAt)} ago)");
                await output.WriteLineAsync($"  {"requests sent in the last minute",-34}{saved.SentInLastMinute}");
                await output.WriteLineAsync($"  {"slots reserved, not yet sent",-34}{saved.ReservedUnsent}");
                await output.WriteLineAsync($"  {"in use",-34}{saved.SentInLastMinute + saved.ReservedUnsent}");
                await output.WriteLineAsync($"  {"paused",-34}{(saved.PausedUntil is { } until ? "until " + Text.When(until) : "no")}");
                break;
            case QuotaReading.Unreadable unreadable:
                await output.WriteLineAsync($"gemini budget: {unreadable.Reason}");
                break;
            default:
                await output.WriteLineAsync("gemini budget: nothing saved yet (no silo has asked for budget)");
                break;
        }

        await output.WriteLineAsync("  (the budget's size is the silos' MAX_JOBS_PER_MINUTE; live view: GET /status on a silo)");
        return OperatorCli.Success;
    }

    private static string Seconds(TimeSpan span) =>
        Math.Max(0, span.TotalSeconds).ToString("0.0", CultureInfo.InvariantCulture) + " s";
}
