using GenerationWorker.TestSupport;

namespace GenerationWorker.Grains.Tests.Jobs;

/// <summary>
/// A database, the Gemini emulator, a reference image server and one silo of the real service with local storage,
/// shared by the tests of a class.
/// </summary>
public class PipelineFixture : IAsyncLifetime
{
    public PipelineFixture()
        : this(new GeminiEmulatorFixture())
    {
    }

    protected PipelineFixture(GeminiEmulatorFixture gemini) => Gemini = gemini;

    public GeminiEmulatorFixture Gemini { get; }

    public ReferenceImageServer References { get; } = new();

    public string StorageDirectory { get; } = Path.Combine(Path.GetTempPath(), "worker-files-" + Guid.NewGuid().ToString("N"));

    public string ConnectionString { get; private set; } = "";

    public JobTable Jobs { get; private set; } = null!;

    public WorkerSilo Silo { get; private set; } = null!;

    public virtual async Task InitializeAsync()
    {
        await Task.WhenAll(Gemini.InitializeAsync(), References.InitializeAsync());
        ConnectionString = await PostgresServer.CreateDatabaseAsync("pipe");
        Jobs = new JobTable(ConnectionString);
        await PrepareDatabaseAsync();
        var env = WorkerSilo.BaseEnvironment(ConnectionString, Gemini.BaseUrl, Gemini.ApiKey, StorageDirectory);
        Configure(env);
        Silo = await WorkerSilo.StartAsync(env);
    }

    public virtual async Task DisposeAsync()
    {
        await Silo.DisposeAsync();
        await Task.WhenAll(Gemini.DisposeAsync(), References.DisposeAsync());
        await PostgresServer.DropDatabaseAsync(ConnectionString);
        if (Directory.Exists(StorageDirectory))
        {
            Directory.Delete(StorageDirectory, recursive: true);
        }
    }

    /// <summary>Prepares the database before the silo starts (the app's own tables, say).</summary>
    protected virtual Task PrepareDatabaseAsync() => Task.CompletedTask;

    /// <summary>Changes the silo's environment before it starts.</summary>
    protected virtual void Configure(Dictionary<string, string?> env)
    {
    }
}
