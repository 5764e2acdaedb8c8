namespace GenerationWorker.Silo.Operators;

/// <summary>The operator page at <c>/dashboard/jobs</c>.</summary>
public static class JobsPageEndpoints
{
    /// <summary>The page's path.</summary>
    public const string Path = "/dashboard/jobs";

    /// <summary>
    /// Maps <see cref="Path"/>. Call it only where the <c>/dashboard</c> prefix is behind the dashboard's credentials
    /// (<c>DashboardEndpoints.MapProtectedDashboard</c>): the page names clients, jobs and their errors.
    /// </summary>
    public static IEndpointRouteBuilder MapJobsPage(this IEndpointRouteBuilder app)
    {
        app.MapGet(Path, async (JobsPageReader reader, HttpContext context, CancellationToken ct) =>
        {
            var page = await reader.GetAsync(ct);
            context.Response.Headers.CacheControl = "no-store";
            return Results.Content(JobsPageHtml.Render(page), "text/html; charset=utf-8");
        });
        return app;
    }
}
