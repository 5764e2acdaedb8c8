using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using GenerationWorker.Silo.Configuration;
using Orleans.Dashboard;

namespace GenerationWorker.Silo.Hosting;

/// <summary>The Orleans Dashboard at <c>/dashboard</c>, behind HTTP Basic auth; absent (404) without credentials.</summary>
public static class DashboardEndpoints
{
    private const string Prefix = "/dashboard";

    /// <summary>Maps the dashboard when <c>DASHBOARD_USERNAME</c> and <c>DASHBOARD_PASSWORD</c> are set.</summary>
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
                if (!IsAuthorized(context.Request.Headers.Authorization.ToString(), expected))
                {
                    context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                    context.Response.Headers.WWWAuthenticate = "Basic realm=\"Orleans Dashboard\", charset=\"UTF-8\"";
                    return;
                }

                await next(context);
            }));
        app.MapOrleansDashboard(routePrefix: Prefix);
        return app;
    }

    private static bool IsAuthorized(string header, byte[] expected)
    {
        if (!AuthenticationHeaderValue.TryParse(header, out var value)
            || !"Basic".Equals(value.Scheme, StringComparison.OrdinalIgnoreCase) || value.Parameter is null)
        {
            return false;
        }

        byte[] given;
        try
        {
            given = Convert.FromBase64String(value.Parameter);
        }
        catch (FormatException)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(given, expected);
    }
}
