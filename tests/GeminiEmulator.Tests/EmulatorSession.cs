using System.Net;
using System.Text;
using System.Text.Json;
using GenerationWorker.TestSupport;

namespace GenerationWorker.GeminiEmulator.Tests;

/// <summary>One emulator started for one test, with a client that sends the valid key.</summary>
internal sealed class EmulatorSession : IAsyncDisposable
{
    public const string Model = "gemini-2.5-flash-image";

    /// <summary>How long a test waits for the in-process emulator to reach a state: 10 s.</summary>
    public static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(10);

    /// <summary>How often a test polls the in-process emulator's counters: every 5 ms.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(5);

    private EmulatorSession(GeminiEmulatorHandle emulator)
    {
        Emulator = emulator;
        Client = GeminiEmulatorRequests.CreateClient(emulator);
    }

    public GeminiEmulatorHandle Emulator { get; }

    public HttpClient Client { get; }

    public static async Task<EmulatorSession> StartAsync(Action<EmulatorOptions>? configure = null)
    {
        var options = new EmulatorOptions();
        configure?.Invoke(options);
        return new EmulatorSession(await GeminiEmulatorServer.StartAsync(options));
    }

    public Task<Reply> GenerateAsync(string prompt, string model = Model, string? aspectRatio = null, string? imageSize = null) =>
        PostAsync(model, GeminiEmulatorRequests.Body(prompt, aspectRatio, imageSize));

    public async Task<Reply> PostAsync(string model, string body, CancellationToken cancellationToken = default) =>
        await Reply.ReadAsync(await Client.PostGenerateContentAsync(model, body, cancellationToken));

    public async Task<Reply> SendAsync(HttpMethod method, string path, string? body = null, string? apiKey = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        if (apiKey is not null)
        {
            request.Headers.Add("x-goog-api-key", apiKey);
        }

        using var client = new HttpClient { BaseAddress = Emulator.BaseUrl };
        return await Reply.ReadAsync(await client.SendAsync(request));
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Emulator.DisposeAsync();
    }
}

/// <summary>A response: status and parsed JSON body.</summary>
internal sealed record Reply(HttpStatusCode Status, JsonElement Json, string Text, string? ContentType)
{
    public static async Task<Reply> ReadAsync(HttpResponseMessage response)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            var json = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
            return new Reply(response.StatusCode, json, text, response.Content.Headers.ContentType?.ToString());
        }
    }

    public JsonElement Error => Json.GetProperty("error");

    public string ErrorStatus => Error.GetProperty("status").GetString()!;

    public string ErrorMessage => Error.GetProperty("message").GetString()!;

    public JsonElement Candidate => Json.GetProperty("candidates")[0];

    public string FinishReason => Candidate.GetProperty("finishReason").GetString()!;

    public JsonElement[] Parts => Candidate.TryGetProperty("content", out var content) && content.TryGetProperty("parts", out var parts)
        ? [.. parts.EnumerateArray()]
        : [];

    /// <summary>The final image: the last inlineData part not marked as a thought.</summary>
    public byte[] Image => Parts.Last(p => p.TryGetProperty("inlineData", out _) && !p.TryGetProperty("thought", out _))
        .GetProperty("inlineData").GetProperty("data").GetBytesFromBase64();

    public JsonElement Detail(string type) =>
        Error.GetProperty("details").EnumerateArray().Single(d => d.GetProperty("@type").GetString() == "type.googleapis.com/google.rpc." + type);
}
