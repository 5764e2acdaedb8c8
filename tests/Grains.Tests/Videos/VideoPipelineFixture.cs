using GenerationWorker.GeminiEmulator;
using GenerationWorker.TestSupport;

namespace GenerationWorker.Grains.Tests.Videos;

/// <summary>
/// A database with the app's tables, the Gemini emulator (Veo operations of 2 s unless a prompt says otherwise), a
/// reference image server and one silo of the real service with local storage, polling videos every second.
/// </summary>
public class VideoPipelineFixture : IAsyncLifetime
{
    public const string ClientId = "client-1";

    public GeminiEmulatorHandle Gemini { get; private set; } = null!;

    public ReferenceImageServer References { get; } = new();

    public string StorageDirectory { get; } = Path.Combine(Path.GetTempPath(), "worker-files-" + Guid.NewGuid().ToString("N"));

    public string ConnectionString { get; private set; } = "";

    public JobTable Jobs { get; private set; } = null!;

    public AppSchema App { get; private set; } = null!;

    public WorkerSilo Silo { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Gemini = await GeminiEmulatorServer.StartAsync(new EmulatorOptions { VideoGenerationTime = TimeSpan.FromSeconds(2) });
        await References.InitializeAsync();
        ConnectionString = await PostgresServer.CreateDatabaseAsync("video");
        Jobs = new JobTable(ConnectionString);
        App = new AppSchema(ConnectionString);
        await App.CreateAsync();
        await App.AddClientAsync(ClientId, "prod-1", "prod-2");
        var env = WorkerSilo.BaseEnvironment(ConnectionString, Gemini.BaseUrl, Gemini.ApiKey, StorageDirectory);
        env["VIDEO_POLL_SECONDS"] = "1";
        Configure(env);
        Silo = await WorkerSilo.StartAsync(env);
    }

    public async Task DisposeAsync()
    {
        await Silo.DisposeAsync();
        await Gemini.DisposeAsync();
        await References.DisposeAsync();
        await PostgresServer.DropDatabaseAsync(ConnectionString);
        if (Directory.Exists(StorageDirectory))
        {
            Directory.Delete(StorageDirectory, recursive: true);
        }
    }

    /// <summary>The one Veo operation whose prompt contains <paramref name="tag"/>, as the emulator knows it now.</summary>
    public VideoOperationEntry Operation(string tag) => Assert.Single(Operations(tag));

    /// <summary>The Veo operations whose prompt contains <paramref name="tag"/>, oldest first.</summary>
    public IReadOnlyList<VideoOperationEntry> Operations(string tag) =>
        [.. Gemini.Stats.Video.Operations.Where(operation => operation.Prompt.Contains(tag, StringComparison.Ordinal))];

    /// <summary>Changes the silo's environment before it starts.</summary>
    protected virtual void Configure(Dictionary<string, string?> env)
    {
    }
}
