using System.Text;
using GenerationWorker.Silo.Configuration;
using GenerationWorker.Silo.Operators;
using Orleans.Dashboard;

namespace GenerationWorker.Silo.Hosting;

/// <summary>
/// The Orleans Dashboard at <c>/dashboard</c> and the operator page at <c>/dashboard/jobs</c>, behind HTTP Basic auth;
/// absent (404) without credentials.
/// </summary>
public static class DashboardEndpoints
{
    private const string Prefix = "/dashboard";

    /// <summary>Maps the dashboard and the jobs page when <c>DASHBOARD_USERNAME</c> and <c>DASHBOARD_PASSWORD</c> are set.</summary>
    public static WebApplication MapProtectedDashboard(this WebApplication app, SiloSettings settings)
    {
        if (!settings.DashboardEnabled)
        {
            return app;
        }

        var expected = Encoding.UTF8.GetBytes($"{settings.DashboardUsername}:{settings.DashboardPassword}");
        app.UseWhen(
            context => context.Request.Path.StartsWithSegments(Prefix, StringComparison.OrdinalIgnoreCase),
            branch => branch.Use(async (context, next) =>
            {
                if (!BasicAuth.IsAuthorized(context.Request.Headers.Authorization.ToString(), expected))
                {
                    BasicAuth.Challenge(context);
                    return;
                }

                await next(context);
            }));
        app.MapOrleansDashboard(routePrefix: Prefix);
        app.MapJobsPage();
        return app;
    }
}
