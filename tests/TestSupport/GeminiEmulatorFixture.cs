using GenerationWorker.GeminiEmulator;
using Xunit;

namespace GenerationWorker.TestSupport;

/// <summary>
/// An in-process Gemini emulator on a free 127.0.0.1 port for a test class (xunit class or collection fixture).
/// Override <see cref="CreateOptions"/> for other settings; call <see cref="GeminiEmulatorHandle.Reset"/> between tests
/// that must not see each other's statistics, quota or faults.
/// </summary>
public class GeminiEmulatorFixture : IAsyncLifetime
{
    private GeminiEmulatorHandle? _emulator;

    /// <summary>The running emulator.</summary>
    public GeminiEmulatorHandle Emulator => _emulator ?? throw new InvalidOperationException("The emulator has not started yet.");

    /// <summary>The Gemini base URL to configure, for example <c>http://127.0.0.1:43127/</c>.</summary>
    public Uri BaseUrl => Emulator.BaseUrl;

    /// <summary>The API key the emulator accepts.</summary>
    public string ApiKey => Emulator.ApiKey;

    /// <summary>What the emulator saw.</summary>
    public EmulatorStats Stats => Emulator.Stats;

    /// <summary>The faults in force; change them at any time.</summary>
    public EmulatorFaults Faults => Emulator.Faults;

    /// <summary>Starts the emulator.</summary>
    public async Task InitializeAsync() => _emulator = await GeminiEmulatorServer.StartAsync(CreateOptions());

    /// <summary>Stops the emulator.</summary>
    public async Task DisposeAsync()
    {
        if (_emulator is not null)
        {
            await _emulator.DisposeAsync();
        }
    }

    /// <summary>An <see cref="HttpClient"/> on <see cref="BaseUrl"/> that sends the valid key.</summary>
    public HttpClient CreateClient() => GeminiEmulatorRequests.CreateClient(Emulator);

    /// <summary>The <c>generateContent</c> requests received whose text parts contain <paramref name="promptContains"/>
    /// (for <paramref name="model"/> when given), oldest first, with every part in order.</summary>
    public IReadOnlyList<RequestLogEntry> ReceivedRequests(string promptContains, string? model = null) =>
        Emulator.ReceivedRequests(promptContains, model);

    /// <summary>Veo operations created (billed starts) for prompts containing <paramref name="promptContains"/>.</summary>
    public int VideoStartsFor(string promptContains) => Emulator.VideoStartsFor(promptContains);

    /// <summary>The emulator's settings; the defaults unless overridden.</summary>
    protected virtual EmulatorOptions CreateOptions() => new();
}
