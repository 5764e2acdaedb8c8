using GenerationWorker.Grains.Jobs;
using GenerationWorker.Grains.Telemetry;
using GenerationWorker.Grains.Tests.Gemini;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace GenerationWorker.Grains.Tests.Telemetry;

/// <summary>The minute's summary of ended job attempts that replaces a log line per completed job.</summary>
public sealed class JobSummaryLogTests
{
    [Fact]
    public async Task EachMinute_LogsWhatEndedSinceTheLastSummary_AndNothingForAQuietMinute()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
        var health = new WorkerHealth();
        var logs = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(builder => builder.AddProvider(logs).SetMinimumLevel(LogLevel.Information));
        using var stop = new CancellationTokenSource();
        var run = new JobSummaryLog(health, time, factory.CreateLogger<JobSummaryLog>()).RunAsync(stop.Token);
        string[] Summaries() => [.. logs.Lines.Where(line => line.Contains("Job attempts ended", StringComparison.Ordinal))];

        health.JobEnded(JobOutcome.Completed);
        health.JobEnded(JobOutcome.Completed);
        health.JobEnded(JobOutcome.Completed);
        health.JobEnded(JobOutcome.Failed);
        health.JobEnded(JobOutcome.Retried);
        health.SetInFlight(7);
        time.Advance(JobSummaryLog.Interval);
        await Eventually.UntilAsync(() => Summaries().Length == 1, TimeSpan.FromSeconds(10), "the first summary is logged", lastObserved: () => string.Join('\n', logs.Lines));
        Assert.Contains(
            "Job attempts ended in the last 60 s: 5 (3 completed, 1 failed, 1 to retry, 0 given back, 0 cancelled); 7 in flight",
            Summaries()[0],
            StringComparison.Ordinal);

        time.Advance(JobSummaryLog.Interval);
        health.JobEnded(JobOutcome.Released);
        time.Advance(JobSummaryLog.Interval);
        await Eventually.UntilAsync(() => Summaries().Length >= 2, TimeSpan.FromSeconds(10), "the second summary is logged", lastObserved: () => string.Join('\n', logs.Lines));
        await stop.CancelAsync();
        await run;

        // The quiet minute logged nothing: the one attempt ended after it is the whole second summary.
        Assert.Equal(2, Summaries().Length);
        Assert.Contains(": 1 (0 completed, 0 failed, 0 to retry, 1 given back, 0 cancelled)", Summaries()[1], StringComparison.Ordinal);
        Assert.Equal(new JobCounts(3, 1, 1, 1, 0), health.Ended);
    }
}
