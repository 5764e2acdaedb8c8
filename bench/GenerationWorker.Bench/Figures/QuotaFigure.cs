using System.Diagnostics;
using GenerationWorker.Bench.Harness;
using GenerationWorker.Grains.Postgres;
using GenerationWorker.Grains.Quota;
using GenerationWorker.Interfaces;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GenerationWorker.Bench;

/// <summary>
/// The headroom of the one QuotaGrain: how many exchanges per second a single activation sustains, in a silo of this
/// process whose grain storage is the project's Postgres (the service's schema, ETag-checked writes, as deployed). Each
/// caller plays a silo's budget owner: one exchange reports the permits of its previous lease as used and asks for a
/// block of 16 more (a granting exchange is a persisted write), at budgets the size of 60, 1,500, 6,000, 60,000 and
/// 1,000,000 requests per 10 s. The largest budget the design serves is the permits per second it grants.
/// </summary>
internal static class QuotaFigure
{
    private const int Callers = 16;
    private const int Block = 16;
    private const string Model = "gemini-2.5-flash-image";

    /// <summary>Measures the exchanges at each budget.</summary>
    public static async Task<FigureResult> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var duration = TimeSpan.FromSeconds(options.Short ? 5 : 15);
        var window = TimeSpan.FromSeconds(10);
        var result = new FigureResult("quota");
        var table = new Table(
            $"one QuotaGrain, {Callers} concurrent callers, {duration.TotalSeconds:0} s each, grain storage on Postgres",
            "operation", "budget per 10 s", "exchanges", "per second", "permits granted per s", "p50 ms", "p99 ms", "state writes");
        var data = new List<object>();
        foreach (var budget in new[] { 60, 1_500, 6_000, 60_000, 1_000_000 })
        {
            var exchanges = await MeasureAsync($"exchange-{budget}", budget, window, duration, ExchangeAsync, cancellationToken);
            table.Row($"report used + ask {Block}", budget.ToString("N0"), exchanges.Operations, exchanges.PerSecond, exchanges.SucceededPerSecond, exchanges.P50, exchanges.P99, exchanges.Writes);
            data.Add(exchanges);
        }

        result.Tables.Add(table);
        result.Notes.Add("an exchange reports the caller's previous lease as used (written just now) and asks for a block of " + Block +
            " permits; a granting exchange writes the grain's state (ETag-checked) before it answers. 'permits granted per s' is capped " +
            "by the budget itself (budget / 10 s, plus the burst at the start), so it measures the grain only where it stays under that cap.");
        result.Set("scenarios", data);
        return result;
    }

    /// <summary>One silo's exchange: its previous lease used, a new block asked for; returns the permits granted.</summary>
    private static async Task<int> ExchangeAsync(IQuotaGrain quota, string caller, CancellationToken cancellationToken)
    {
        List<PermitUse> used = Leases.TryGetValue(caller, out var last) && last.Granted > 0
            ? [new PermitUse(last.Id, "bench", last.Granted, TimeSpan.Zero)]
            : [];
        var answers = await quota.ExchangeAsync(caller, [new BudgetAsk(Model, null, Block, false)], used, [], [], cancellationToken);
        Leases[caller] = new Lease(answers[0].LeaseId, answers[0].Granted);
        return answers[0].Granted;
    }

    private sealed record Lease(Guid Id, int Granted);

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lease> Leases = new();

    private static async Task<Scenario> MeasureAsync(
        string name, int requestsPerWindow, TimeSpan window, TimeSpan duration,
        Func<IQuotaGrain, string, CancellationToken, Task<int>> operation, CancellationToken cancellationToken)
    {
        var connectionString = await PostgresServer.CreateDatabaseAsync("bench_quota");
        try
        {
            await new SchemaMigrator(NullLogger<SchemaMigrator>.Instance).MigrateAsync(connectionString, cancellationToken);
            using var host = await StartSiloAsync(connectionString, requestsPerWindow, window, cancellationToken);
            var quota = host.Services.GetRequiredService<IGrainFactory>().GetGrain<IQuotaGrain>(0);
            await quota.GetStatusAsync(cancellationToken); // activated before the clock starts
            Leases.Clear();
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
                    succeeded[caller] += await operation(quota, id + "/" + caller, cancellationToken);

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
            await PostgresServer.DropDatabaseAsync(connectionString);
        }
    }

    private static async Task<IHost> StartSiloAsync(
        string connectionString, int requestsPerWindow, TimeSpan window, CancellationToken cancellationToken)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(Options.Create(new QuotaOptions { RequestsPerWindow = requestsPerWindow, Window = window }));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(Options.Create(new GenerationWorker.Grains.Gemini.GeminiOptions()));
        builder.Services.AddSingleton<GenerationWorker.Grains.GrainReferences>();
        builder.Services.AddSingleton(new BudgetClock(TimeSpan.Zero));
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort: WorkerSilo.FreePort(), gatewayPort: WorkerSilo.FreePort());
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
