using System.Diagnostics;
using GenerationWorker.Bench.Harness;
using GenerationWorker.Grains.Postgres;
using GenerationWorker.Grains.Quota;
using GenerationWorker.Interfaces;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GenerationWorker.Bench;

/// <summary>
/// The headroom of the one QuotaGrain: how many budget operations per second a single activation sustains, in a silo of
/// this process whose grain storage is the project's Postgres (the service's schema, ETag-checked writes, as deployed).
/// Two operations are measured, each with concurrent callers for a fixed time:
/// <list type="bullet">
/// <item>grants: <c>AcquireAsync</c> of a small block then <c>ReleaseAsync</c> of it, as a dispatcher claims (every grant
/// is a persisted write);</item>
/// <item>requests: <c>BeginRequestAsync</c> on granted blocks, one per Gemini request a job sends (in memory; the grain
/// persists what changed once a second), at budgets the size of 60, 1,500, 6,000 and 60,000 requests per 10 s, so the
/// state the grain keeps and writes holds a whole window of send times.</item>
/// </list>
/// The largest budget the design serves is the request rate it sustains while each claim also costs a grant.
/// </summary>
internal static class QuotaFigure
{
    private const int Callers = 16;

    /// <summary>Measures both operations.</summary>
    public static async Task<FigureResult> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var duration = TimeSpan.FromSeconds(options.Short ? 5 : 15);
        var window = TimeSpan.FromSeconds(10);
        var result = new FigureResult("quota");
        var table = new Table(
            $"one QuotaGrain, {Callers} concurrent callers, {duration.TotalSeconds:0} s each, grain storage on Postgres",
            "operation", "budget per 10 s", "operations", "per second", "succeeded per s", "p50 ms", "p99 ms", "state writes");
        var data = new List<object>();

        var grants = await MeasureAsync("grants", requestsPerWindow: 1_000_000, window, duration, GrantAsync, cancellationToken);
        table.Row("acquire 4 + release", "1,000,000", grants.Operations, grants.PerSecond, grants.SucceededPerSecond, grants.P50, grants.P99, grants.Writes);
        data.Add(grants);
        foreach (var budget in new[] { 60, 1_500, 6_000, 60_000 })
        {
            var requests = await MeasureAsync($"requests-{budget}", budget, window, duration, BeginAsync, cancellationToken);
            table.Row("begin request (+ acquire 64)", budget.ToString("N0"), requests.Operations, requests.PerSecond, requests.SucceededPerSecond, requests.P50, requests.P99, requests.Writes);
            data.Add(requests);
        }

        result.Tables.Add(table);
        result.Notes.Add("grants: every AcquireAsync writes the grain's state (ETag-checked) before it answers; requests: BeginRequestAsync " +
            "answers from memory and the grain writes what changed once a second, so its rate falls as a window of send times grows. " +
            "Requests: an operation is a BeginRequestAsync on the caller's block, or the AcquireAsync of a new 64-slot block when it is spent " +
            "(a persisted write); 'succeeded per s' counts the requests granted, which the budget itself caps (budget / 10 s), so it " +
            "measures the grain only where it stays under that cap.");
        result.Set("scenarios", data);
        return result;
    }

    /// <summary>One dispatcher's claim: a block of 4 slots, given back unused.</summary>
    private static async Task<bool> GrantAsync(IQuotaGrain quota, string caller, CancellationToken cancellationToken)
    {
        var grant = await quota.AcquireAsync(caller, wanted: 4, minimum: 1, cancellationToken);
        await quota.ReleaseAsync(grant.ReservationId, grant.Granted, cancellationToken);
        return grant.Granted > 0;
    }

    /// <summary>
    /// One Gemini request on a slot of the caller's block (true), or, when the block is spent, the grant of a new one
    /// (false): as a job does, a request is announced only on a slot its claim was granted.
    /// </summary>
    private static async Task<bool> BeginAsync(IQuotaGrain quota, string caller, CancellationToken cancellationToken)
    {
        if (Blocks.TryGetValue(caller, out var block) && block.Left > 0)
        {
            Blocks[caller] = block with { Left = block.Left - 1 };
            return await quota.BeginRequestAsync(block.Id, cancellationToken);
        }

        var grant = await quota.AcquireAsync(caller, wanted: 64, minimum: 1, cancellationToken);
        Blocks[caller] = new Block(grant.ReservationId, grant.Granted);
        return false;
    }

    private sealed record Block(Guid Id, int Left);

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Block> Blocks = new();

    private static async Task<Scenario> MeasureAsync(
        string name, int requestsPerWindow, TimeSpan window, TimeSpan duration,
        Func<IQuotaGrain, string, CancellationToken, Task<bool>> operation, CancellationToken cancellationToken)
    {
        var database = "bench_quota_" + Guid.NewGuid().ToString("N")[..12];
        await Postgres.CreateDatabaseAsync(database, cancellationToken);
        try
        {
            var connectionString = Postgres.ConnectionStringFor(database);
            await new SchemaMigrator(NullLogger<SchemaMigrator>.Instance).MigrateAsync(connectionString, cancellationToken);
            using var host = await StartSiloAsync(connectionString, requestsPerWindow, window, cancellationToken);
            var quota = host.Services.GetRequiredService<IGrainFactory>().GetGrain<IQuotaGrain>(0);
            await quota.GetStatusAsync(cancellationToken); // activated before the clock starts
            Blocks.Clear();
            var writesBefore = await StateWritesAsync(connectionString, cancellationToken);

            var latencies = new List<double>[Callers];
            var succeeded = new int[Callers];
            var stopwatch = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, Callers).Select(caller => Task.Run(async () =>
            {
                var own = latencies[caller] = new List<double>(100_000);
                var id = "silo-" + (caller % 3);
                while (stopwatch.Elapsed < duration)
                {
                    var started = Stopwatch.GetTimestamp();
                    if (await operation(quota, id + "/" + caller, cancellationToken))
                    {
                        succeeded[caller]++;
                    }

                    own.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
            }, cancellationToken)));
            var elapsed = stopwatch.Elapsed.TotalSeconds;
            var writes = await StateWritesAsync(connectionString, cancellationToken) - writesBefore;
            await host.StopAsync(CancellationToken.None);

            var all = latencies.SelectMany(l => l).Order().ToArray();
            return new Scenario(name, requestsPerWindow, all.Length, Math.Round(all.Length / elapsed), Math.Round(succeeded.Sum() / elapsed),
                Percentile(all, 0.50), Percentile(all, 0.99), writes);
        }
        finally
        {
            await Postgres.DropDatabaseAsync(database);
        }
    }

    private static async Task<IHost> StartSiloAsync(
        string connectionString, int requestsPerWindow, TimeSpan window, CancellationToken cancellationToken)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(Options.Create(new QuotaOptions { RequestsPerWindow = requestsPerWindow, Window = window }));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort: Ports.Free(), gatewayPort: Ports.Free());
            silo.AddAdoNetGrainStorage("quota", o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = connectionString;
            });
        });
        var host = builder.Build();
        await host.StartAsync(cancellationToken);
        return host;
    }

    /// <summary>How many times the grain's state row was written (its version counts every write).</summary>
    private static async Task<long> StateWritesAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new Npgsql.NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new Npgsql.NpgsqlCommand("SELECT coalesce(max(version), 0) FROM orleans_storage", connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken));
    }

    private static double Percentile(double[] sorted, double quantile) =>
        sorted.Length == 0 ? 0 : Math.Round(sorted[Math.Min(sorted.Length - 1, (int)(quantile * sorted.Length))], 2);

    private sealed record Scenario(
        string Name, int RequestsPer10Seconds, int Operations, double PerSecond, double SucceededPerSecond, double P50, double P99, long Writes);
}
