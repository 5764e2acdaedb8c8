using GenerationWorker.Grains.Configuration;
using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Quota;
using GenerationWorker.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GenerationWorker.Grains.Tests;

public sealed class WorkerServiceCollectionExtensionsTests
{
    [Fact]
    public void EachOptions_IsRegisteredOnce_AsItselfAndAsIOptions_TheSameInstance()
    {
        var (worker, quota, gemini, storage) = (new WorkerOptions(), new QuotaOptions(), new GeminiOptions(), new StorageOptions { AccountId = "acc" });
        var services = new ServiceCollection().AddGenerationWorker("Host=db;Database=app", null, worker, quota, gemini, storage);

        AssertOnce(services, worker);
        AssertOnce(services, quota);
        AssertOnce(services, gemini);
        AssertOnce(services, storage);
    }

    private static void AssertOnce<T>(IServiceCollection services, T options)
        where T : class
    {
        Assert.Same(options, Assert.Single(services, d => d.ServiceType == typeof(T)).ImplementationInstance);
        var wrapped = Assert.IsAssignableFrom<IOptions<T>>(Assert.Single(services, d => d.ServiceType == typeof(IOptions<T>)).ImplementationInstance);
        Assert.Same(options, wrapped.Value);
    }
}
