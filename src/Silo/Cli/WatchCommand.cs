using System.Text;

namespace GenerationWorker.Silo.Cli;

/// <summary>
/// <c>watch</c>: live progress of pending, running and recently ended jobs until no job is pending or processing.
/// On a terminal the view is redrawn in place with ANSI escapes; otherwise each change is printed once as a line.
/// </summary>
internal static class WatchCommand
{
    private const int BarWidth = 24;
    private const int MaxRows = 40;
    private static readonly TimeSpan Recent = TimeSpan.FromSeconds(30);

    /// <summary>Runs the view; Ctrl+C ends it with exit code 0.</summary>
    public static async Task<int> RunAsync(CliArguments args, CliContext context)
    {
        args.NoPositionals();
        var interval = TimeSpan.FromMilliseconds(args.Int("interval-ms", 50, 60_000) ?? 1000);
        var seen = new Dictionary<string, WatchedJob>(StringComparer.Ordinal);
        var drawn = 0;
        try
        {
            while (true)
            {
                var jobs = await context.Store.WatchAsync(Recent, context.Ansi ? MaxRows : 1000, context.CancellationToken);
                var active = jobs.Count(job => job.IsActive);
                if (context.Ansi)
                {
                    drawn = await RedrawAsync(context.Out, jobs, active, drawn);
                }
                else
                {
                    await PrintChangesAsync(context.Out, jobs, seen);
                }

                if (active == 0)
                {
                    await context.Out.WriteLineAsync("no job is pending or processing");
                    return OperatorCli.Success;
                }

                await Task.Delay(interval, context.CancellationToken);
            }
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            return OperatorCli.Success;
        }
    }

    private static async Task<int> RedrawAsync(TextWriter output, IReadOnlyList<WatchedJob> jobs, int active, int previousLines)
    {
        var frame = new StringBuilder();
        if (previousLines > 0)
        {
            // Back to the first line of the previous frame, then clear everything below it.
            frame.Append("\u001b[").Append(previousLines).Append('F').Append("\u001b[0J");
        }

        var lines = new List<string>
        {
            $"{active} pending or processing, {jobs.Count - active} ended in the last {Recent.TotalSeconds:0} s   {Text.When(DateTimeOffset.UtcNow)}   Ctrl+C to stop",
        };
        lines.AddRange(jobs.Select(Line));
        foreach (var line in lines)
        {
            frame.Append(line).Append('\n');
        }

        await output.WriteAsync(frame.ToString());
        await output.FlushAsync();
        return lines.Count;
    }

    private static async Task PrintChangesAsync(TextWriter output, IReadOnlyList<WatchedJob> jobs, Dictionary<string, WatchedJob> seen)
    {
        foreach (var job in jobs)
        {
            if (seen.TryGetValue(job.Id, out var before) && before == job)
            {
                continue;
            }

            seen[job.Id] = job;
            await output.WriteLineAsync(Line(job));
        }

        await output.FlushAsync();
    }

    private static string Line(WatchedJob job)
    {
        var status = job.Waiting ? "waiting" : job.Status;
        var line = $"{Text.Clean(job.Id)}  {Text.Clean(job.Type),-16}  {status,-10}  {Text.Bar(job.Progress, BarWidth)} {job.Progress,3}%  attempt {job.Attempts}/{job.MaxAttempts}";
        return job.Error is not null && job.Status is "failed" or "pending" ? $"{line}  {Text.Shorten(job.Error, 80)}" : line;
    }
}
