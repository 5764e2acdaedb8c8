using GenerationWorker.Grains;
using GenerationWorker.Grains.Cost;
using GenerationWorker.Grains.Quota;
using GenerationWorker.Grains.Postgres;
using GenerationWorker.Interfaces;
using System.Text;
using GenerationWorker.Silo.Hosting;
using Orleans.Runtime;

namespace GenerationWorker.Silo.Health;

/// <summary><c>/health</c>, <c>/health/live</c>, <c>/status</c> and <c>/cluster</c>.</summary>
public static partial class HealthEndpoints
{
    private static readonly TimeSpan DatabaseTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Maps the health endpoints; <c>/status</c> and <c>/cluster</c> only with <paramref name="operatorCredentials"/>.</summary>
    /// <param name="app">The application.</param>
    /// <param name="operatorCredentials">
    /// The dashboard's credentials (<c>DASHBOARD_USERNAME</c>, <c>DASHBOARD_PASSWORD</c>), which <c>/status</c> and
    /// <c>/cluster</c> require (HTTP Basic); null: they are not served (404), since they name jobs and silo addresses.
    /// </param>
    /// <remarks>
    /// <c>/health</c> is 200 <c>{"status":"healthy","worker":"running"}</c> only while this silo is active in the
    /// cluster, its worker runs and the database answers; otherwise 503 with status starting, draining or unhealthy
    /// (and the reason). A paused Gemini budget is not a broken process: it stays 200 and adds <c>"quota":"paused"</c>.
    /// <c>/health/live</c> is 200 while the process runs and touches nothing remote.
    /// </remarks>
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app, (string Username, string Password)? operatorCredentials)
    {
        app.MapGet("/health/live", () => Results.Json(new { status = "alive" }));
        app.MapGet("/health", async (ISiloStatusOracle silo, WorkerHealth worker, JobStore jobs, ILoggerFactory loggers, CancellationToken ct) =>
        {
            if (worker.Draining || silo.CurrentStatus is SiloStatus.ShuttingDown or SiloStatus.Stopping or SiloStatus.Dead)
            {
                return Results.Json(new { status = "draining" }, statusCode: 503);
            }

            if (worker.StoreUnreachable is { } store)
            {
                return Results.Json(new { status = "unhealthy", error = store }, statusCode: 503);
            }

            if (silo.CurrentStatus != SiloStatus.Active || !worker.Running)
            {
                return Results.Json(new { status = "starting" }, statusCode: 503);
            }

            if (worker.Fatal is { } fatal)
            {
                return Results.Json(new { status = "unhealthy", error = fatal }, statusCode: 503);
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(DatabaseTimeout);
            try
            {
                await jobs.PingAsync(timeout.Token);
            }
            catch (Exception exception) when (exception is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                // The driver's text can name hosts, users and statements: it goes to the log, not to the caller.
                LogDatabaseUnhealthy(loggers.CreateLogger(typeof(HealthEndpoints)), exception);
                var why = exception is OperationCanceledException ? "no answer within 2 s" : "unreachable (see the log)";
                return Results.Json(new { status = "unhealthy", error = "database: " + why }, statusCode: 503);
            }

            return worker.QuotaPaused
                ? Results.Json(new { status = "healthy", worker = "running", quota = "paused" })
                : Results.Json(new { status = "healthy", worker = "running" });
        });
        if (operatorCredentials is not { } credentials)
        {
            return app;
        }

        var expected = Encoding.UTF8.GetBytes($"{credentials.Username}:{credentials.Password}");
        var operators = app.MapGroup("").AddEndpointFilter(async (context, next) =>
            BasicAuth.IsAuthorized(context.HttpContext.Request.Headers.Authorization.ToString(), expected)
                ? await next(context)
                : (object?)BasicAuth.Challenge(context.HttpContext));
        operators.MapGet("/status", async (IGrainFactory grains, ILocalSiloDetails silo, WorkerHealth worker, SiloBudget budget, CostStore costs, CancellationToken ct) =>
        {
            var spend = await costs.SpendTodayAsync(ct);
            var quota = await grains.GetGrain<IQuotaGrain>(IQuotaGrain.SingletonKey).GetStatusAsync();
            var dispatcher = await grains.GetGrain<IDispatcherGrain>(SiloIdentity.Of(silo.SiloAddress)).GetStatusAsync();
            return Results.Json(new
            {
                silo = SiloIdentity.Of(silo.SiloAddress),
                inFlight = dispatcher.InFlight,
                jobsEndedSinceStart = worker.Ended,
                claiming = dispatcher.Claiming,
                stoppedReason = dispatcher.StoppedReason,
                budgets = quota.Models.Select(model => new
                {
                    model = model.Model,
                    limits = model.Limits.Select(limit => new
                    {
                        limit = limit.Limit,
                        requests = limit.Requests,
                        windowSeconds = limit.Window?.TotalSeconds,
                        used = limit.Used,
                        allowedNow = limit.Allowed,
                        remaining = Math.Max(0, limit.Allowed - limit.Used),
                    }),
                    leased = model.Leased,
                    pausedUntil = model.PausedUntil,
                    pausedWhy = model.PausedWhy,
                }),
                clients = quota.Clients.Select(client => new { client = client.Client, requests = client.Requests, share = client.Share }),
                spendCaps = (quota.Caps ?? []).Select(cap => new
                {
                    cap = cap.Cap,
                    period = cap.Period,
                    capUsd = cap.CapMicros / 1_000_000m,
                    spentUsd = cap.SpentMicros / 1_000_000m,
                    reservedUsd = cap.ReservedMicros / 1_000_000m,
                    reached = cap.SpentMicros + cap.ReservedMicros >= cap.CapMicros,
                }),
                pooledBySilo = dispatcher.StandingSlots,
                waitingForBudget = budget.Waiting().Select(w => new { model = w.Key.Model, cappedClient = w.Key.Client, why = w.Why }),
                draining = worker.Draining,

                // Today's (UTC) Gemini spend, exact: billed, and possibly billed (requests whose answer never came).
                spendToday = new
                {
                    billedUsd = PriceTable.Dollars(spend.BilledMicros),
                    billedRequests = spend.BilledRequests,
                    possiblyBilledUsd = PriceTable.Dollars(spend.PossiblyBilledMicros),
                    possiblyBilledRequests = spend.PossiblyBilledRequests,
                    totalUsd = PriceTable.Dollars(spend.BilledMicros + spend.PossiblyBilledMicros),
                    awaitingAnswerUsd = PriceTable.Dollars(spend.PendingMicros),
                },
            });
        });
        operators.MapGet("/cluster", async (IGrainFactory grains, IClusterMembershipService membership) =>
        {
            var members = membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).ToList();
            var dispatchers = await Task.WhenAll(members.Select(async member =>
            {
                var key = SiloIdentity.Of(member.SiloAddress);
                var status = await grains.GetGrain<IDispatcherGrain>(key).GetStatusAsync();
                return new { silo = key, name = member.Name, dispatcherRunsOn = status.RunsOn, inFlight = status.InFlight.Count, status.Claiming };
            }));
            return Results.Json(new { members = dispatchers });
        });
        return app;
    }
}
