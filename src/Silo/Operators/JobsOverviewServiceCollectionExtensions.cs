namespace GenerationWorker.Silo.Operators;

/// <summary>Registers the operators' reads of the job table.</summary>
public static class JobsOverviewServiceCollectionExtensions
{
    /// <summary>Adds <see cref="JobsOverviewStore"/> and the jobs page's <see cref="JobsPageReader"/> (nothing is read until asked).</summary>
    public static IServiceCollection AddJobsOverview(this IServiceCollection services)
    {
        services.AddSingleton<JobsOverviewStore>();
        services.AddSingleton<JobsPageReader>();
        return services;
    }
}
