using GenerationWorker.Grains.Postgres;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Assets;

/// <summary>
/// Whether the web app's tables exist: its asset tables (<c>generated_asset</c>, <c>generated_asset_product</c>,
/// <c>generation_flow</c>, <c>collection_session</c>, <c>product</c>), when every stored image also becomes an asset
/// row; and its cost table (<c>ai_cost_tracking</c>), where every billed Gemini request is recorded (else in the
/// service's own <c>worker_cost_tracking</c>).
/// </summary>
/// <remarks>
/// Checked at start-up and then again at most once a minute, when a job asks: the app may create its tables after the
/// service started. Each change is logged once.
/// </remarks>
public sealed partial class AppTables(AppAssetStore store, TimeProvider time, ILogger<AppTables> logger) : IHostedService
{
    /// <summary>How long an answer is trusted before the database is asked again.</summary>
    public static readonly TimeSpan RecheckInterval = TimeSpan.FromMinutes(1);

    private readonly Presence _assets = new(
        store.TablesPresentAsync,
        "on: stored images become generated_asset rows",
        "off: the app's asset tables are not in this database");

    private readonly Presence _costs = new(
        store.CostTablePresentAsync,
        "on: billed Gemini requests become ai_cost_tracking rows",
        "off: the app's ai_cost_tracking is not in this database; costs are recorded in worker_cost_tracking");

    /// <summary>True when the app's asset tables exist (as of at most <see cref="RecheckInterval"/> ago).</summary>
    public ValueTask<bool> PresentAsync(CancellationToken cancellationToken) => CheckAsync(_assets, cancellationToken);

    /// <summary>True when the app's <c>ai_cost_tracking</c> exists (as of at most <see cref="RecheckInterval"/> ago).</summary>
    public ValueTask<bool> CostTrackingPresentAsync(CancellationToken cancellationToken) => CheckAsync(_costs, cancellationToken);

    private async ValueTask<bool> CheckAsync(Presence presence, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (presence.Known(now) is { } known)
        {
            return known;
        }

        var present = await presence.Query(cancellationToken);
        if (presence.Record(present, now))
        {
            LogIntegration(logger, present ? presence.On : presence.Off);
        }

        return present;
    }

    /// <summary>Checks once at start-up, so the log says which integration is on before the first job.</summary>
    async Task IHostedService.StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await PresentAsync(cancellationToken);
            await CostTrackingPresentAsync(cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // The first job asks again; the database's own health check reports the outage.
            LogCheckFailed(logger, exception);
        }
    }

    /// <inheritdoc />
    Task IHostedService.StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>One cached answer: whether some of the app's tables exist, and when it was asked.</summary>
    private sealed class Presence(Func<CancellationToken, Task<bool>> query, string on, string off)
    {
        private readonly Lock _lock = new();
        private bool? _present;
        private DateTimeOffset _checkedAt;

        public Func<CancellationToken, Task<bool>> Query => query;

        public string On => on;

        public string Off => off;

        /// <summary>The answer, while it is fresh.</summary>
        public bool? Known(DateTimeOffset now)
        {
            lock (_lock)
            {
                return _present is { } known && now - _checkedAt < RecheckInterval ? known : null;
            }
        }

        /// <summary>Keeps a new answer; true when it differs from the previous one.</summary>
        public bool Record(bool present, DateTimeOffset now)
        {
            lock (_lock)
            {
                var changed = _present != present;
                _present = present;
                _checkedAt = now;
                return changed;
            }
        }
    }
}
