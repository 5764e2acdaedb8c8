using System.Globalization;

namespace GenerationWorker.Silo.Hosting;

/// <summary>
/// Checks that Railway gives a stopping replica time to drain: Railway sends SIGKILL
/// <c>RAILWAY_DEPLOYMENT_DRAINING_SECONDS</c> after SIGTERM (a few seconds when unset), and the drain needs
/// <c>SHUTDOWN_TIMEOUT_SECONDS</c> plus <see cref="Margin"/> to give back what is still running and leave the cluster.
/// </summary>
public static partial class RailwayDraining
{
    /// <summary>What the drain needs beyond <c>SHUTDOWN_TIMEOUT_SECONDS</c>: the give-back (at most 10 s) and leaving the cluster.</summary>
    public static readonly TimeSpan Margin = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The warning to log at start, or null when not on Railway (no <c>RAILWAY_SERVICE_ID</c> or
    /// <c>RAILWAY_PROJECT_ID</c>) or when its draining time covers the drain.
    /// </summary>
    public static string? Check(Func<string, string?> env, TimeSpan shutdownTimeout)
    {
        if (string.IsNullOrEmpty(env("RAILWAY_SERVICE_ID")) && string.IsNullOrEmpty(env("RAILWAY_PROJECT_ID")))
        {
            return null;
        }

        var needed = (shutdownTimeout + Margin).TotalSeconds;
        var text = env("RAILWAY_DEPLOYMENT_DRAINING_SECONDS");
        if (string.IsNullOrWhiteSpace(text))
        {
            return $"RAILWAY_DEPLOYMENT_DRAINING_SECONDS is not set: Railway kills a stopping replica a few seconds after SIGTERM, before its drain ends; set it to at least {needed:0} (SHUTDOWN_TIMEOUT_SECONDS + {Margin.TotalSeconds:0})";
        }

        return !double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || !double.IsFinite(seconds) || seconds < needed
            ? $"RAILWAY_DEPLOYMENT_DRAINING_SECONDS is '{text}': Railway kills a stopping replica before its drain ends; set it to at least {needed:0} (SHUTDOWN_TIMEOUT_SECONDS + {Margin.TotalSeconds:0})"
            : null;
    }

    /// <summary>Logs the warning of <see cref="Check"/>, if any.</summary>
    public static void WarnIfShort(Func<string, string?> env, TimeSpan shutdownTimeout, ILogger logger)
    {
        if (Check(env, shutdownTimeout) is { } warning)
        {
            LogDrainingTooShort(logger, warning);
        }
    }
}
