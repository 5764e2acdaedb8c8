using GenerationWorker.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace GenerationWorker.Grains.Tests.Storage;

public sealed class StorageServiceCollectionExtensionsTests
{
    [Fact]
    public void AddImageStore_R2_RegistersOneR2StoreWithTheOptions()
    {
        var options = new StorageOptions
        {
            Kind = StorageKind.R2,
            Endpoint = new Uri("https://127.0.0.1:9/"),
            AccessKeyId = "key",
            SecretAccessKey = "secret",
            Bucket = "images",
            PublicUrl = "https://cdn.example.test/",
        };
        using var provider = new ServiceCollection().AddLogging().AddImageStore(options).BuildServiceProvider();

        var store = provider.GetRequiredService<IImageStore>();

        Assert.IsType<R2ImageStore>(store);
        Assert.Same(store, provider.GetRequiredService<IImageStore>());
        Assert.Same(options, provider.GetRequiredService<StorageOptions>());
        Assert.Equal("https://cdn.example.test/generations/c/j/0.png", store.PublicUrl("generations/c/j/0.png"));
    }

    [Fact]
    public void AddImageStore_Local_RegistersOneLocalStoreUnderTheDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), "di-" + Guid.NewGuid().ToString("N"));
        var options = new StorageOptions { Kind = StorageKind.Local, LocalDirectory = directory, PublicUrl = "http://127.0.0.1:5000/files" };
        using var provider = new ServiceCollection().AddLogging().AddImageStore(options).BuildServiceProvider();

        var store = Assert.IsType<LocalImageStore>(provider.GetRequiredService<IImageStore>());

        Assert.Same(store, provider.GetRequiredService<IImageStore>());
        Assert.Equal(directory, store.RootDirectory);
        Assert.Equal("http://127.0.0.1:5000/files/generations/c/j/0.png", store.PublicUrl("generations/c/j/0.png"));
    }
}
