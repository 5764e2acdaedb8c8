using GenerationWorker.Grains.Postgres;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Assets;

/// <summary>
/// Whether the web app's asset tables (<c>generated_asset</c>, <c>generated_asset_product</c>, <c>generation_flow</c>,
/// <c>collection_session</c>, <c>product</c>) exist: when they do, every stored image also becomes an asset row.
/// </summary>
/// <remarks>
/// Checked at start-up and then again at most once a minute, when a job asks: the app may create its tables after the
/// service started. Each change is logged once.
/// </remarks>
public sealed partial class AppTables(AppAssetStore store, TimeProvider time, ILogger<AppTables> logger) : IHostedService
{
    /// <summary>How long an answer is trusted before the database is asked again.</summary>
    public static readonly TimeSpan RecheckInterval = TimeSpan.FromMinutes(1);

    private readonly Lock _lock = new();
    private bool? _present;
    private DateTimeOffset _checkedAt;

    /// <summary>True when the app's tables exist (as of at most <see cref="RecheckInterval"/> ago).</summary>
    public async ValueTask<bool> PresentAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            if (_present is { } known && now - _checkedAt < RecheckInterval)
            {
                return known;
            }
        }

        var present = await store.TablesPresentAsync(cancellationToken);
        bool changed;
        lock (_lock)
        {
            changed = _present != present;
            _present = present;
            _checkedAt = now;
        }

        if (changed)
        {
            LogIntegration(logger, present ? "on: stored images become generated_asset rows" : "off: the app's asset tables are not in this database");
        }

        return present;
    }

    /// <summary>Checks once at start-up, so the log says which integration is on before the first job.</summary>
    async Task IHostedService.StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await PresentAsync(cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // The first job asks again; the database's own health check reports the outage.
            LogCheckFailed(logger, exception);
        }
    }

    /// <inheritdoc />
    Task IHostedService.StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(2, LogLevel.Warning, "Could not check for the web app's asset tables at start-up; the first job checks again")]
    private static partial void LogCheckFailed(ILogger logger, Exception exception);

    [LoggerMessage(1, LogLevel.Information, "Web app asset integration {State}")]
    private static partial void LogIntegration(ILogger logger, string state);
}
