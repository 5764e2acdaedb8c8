using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using GenerationWorker.GeminiEmulator;

namespace GenerationWorker.TestSupport;

/// <summary>Builds <c>generateContent</c> and Veo requests for tests that talk to the emulator directly, and reads back
/// what the emulator received (in-process from its handle, or over HTTP from its control API).</summary>
public static class GeminiEmulatorRequests
{
    private static readonly JsonSerializerOptions ControlJson = new(JsonSerializerDefaults.Web);

    /// <summary>An <see cref="HttpClient"/> on the emulator's base URL that sends its valid key.</summary>
    public static HttpClient CreateClient(GeminiEmulatorHandle emulator)
    {
        var client = new HttpClient { BaseAddress = emulator.BaseUrl, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Add("x-goog-api-key", emulator.ApiKey);
        return client;
    }

    /// <summary>The relative path of <c>generateContent</c> for <paramref name="model"/>.</summary>
    public static string GenerateContentPath(string model) => $"v1beta/models/{model}:generateContent";

    /// <summary>A request body: inline images first, then the prompt, asking for an IMAGE answer.</summary>
    public static string Body(string prompt, string? aspectRatio = null, string? imageSize = null, params (string MimeType, byte[] Data)[] images)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("contents");
            writer.WriteStartObject();
            writer.WriteString("role", "user");
            writer.WriteStartArray("parts");
            foreach (var (mimeType, data) in images)
            {
                writer.WriteStartObject();
                writer.WriteStartObject("inlineData");
                writer.WriteString("mimeType", mimeType);
                writer.WriteBase64String("data", data);
                writer.WriteEndObject();
                writer.WriteEndObject();
            }

            writer.WriteStartObject();
            writer.WriteString("text", prompt);
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteStartObject("generationConfig");
            writer.WriteStartArray("responseModalities");
            writer.WriteStringValue("IMAGE");
            writer.WriteEndArray();
            if (aspectRatio is not null || imageSize is not null)
            {
                writer.WriteStartObject("imageConfig");
                if (aspectRatio is not null)
                {
                    writer.WriteString("aspectRatio", aspectRatio);
                }

                if (imageSize is not null)
                {
                    writer.WriteString("imageSize", imageSize);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Posts <paramref name="body"/> to <c>generateContent</c> of <paramref name="model"/>.</summary>
    public static Task<HttpResponseMessage> PostGenerateContentAsync(
        this HttpClient client, string model, string body, CancellationToken cancellationToken = default)
    {
        var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return client.PostAsync(GenerateContentPath(model), content, cancellationToken);
    }

    /// <summary>The <c>generateContent</c> requests the emulator received (oldest first, within its request log) whose
    /// text parts contain <paramref name="promptContains"/>, for <paramref name="model"/> when given. Each entry holds the
    /// model, aspect ratio, image size and every part in order (<see cref="RequestLogEntry.Parts"/>).</summary>
    public static IReadOnlyList<RequestLogEntry> ReceivedRequests(this GeminiEmulatorHandle emulator, string promptContains, string? model = null) =>
        emulator.Stats.RequestsFor(promptContains, model);

    /// <summary>Same as <see cref="ReceivedRequests(GeminiEmulatorHandle, string, string?)"/> over HTTP
    /// (<c>GET /_emulator/requests</c>), for an emulator in another process.</summary>
    /// <param name="control">A client whose base address is the emulator's root.</param>
    /// <param name="promptContains">A substring of the prompt.</param>
    /// <param name="model">The model, or null for all.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    public static async Task<IReadOnlyList<RequestLogEntry>> ReceivedRequestsAsync(
        this HttpClient control, string promptContains, string? model = null, CancellationToken cancellationToken = default)
    {
        var query = "_emulator/requests?prompt=" + Uri.EscapeDataString(promptContains) + (model is null ? "" : "&model=" + Uri.EscapeDataString(model));
        return await control.GetFromJsonAsync<RequestLogEntry[]>(query, ControlJson, cancellationToken) ?? [];
    }

    /// <summary>Veo operations the emulator created (billed starts, lost answers included) for prompts containing
    /// <paramref name="promptContains"/>.</summary>
    public static int VideoStartsFor(this GeminiEmulatorHandle emulator, string promptContains) => emulator.Stats.VideoStartsFor(promptContains);

    /// <summary>What the Veo endpoints saw, over HTTP (<c>GET /_emulator/video</c>).</summary>
    public static async Task<VideoStatsSnapshot> ReadVideoStatsAsync(this HttpClient control, CancellationToken cancellationToken = default) =>
        await control.GetFromJsonAsync<VideoStatsSnapshot>("_emulator/video", ControlJson, cancellationToken)
        ?? throw new InvalidOperationException("The emulator answered no video statistics.");

    /// <summary>Veo operations created for prompts containing <paramref name="promptContains"/>, over HTTP.</summary>
    public static async Task<int> VideoStartsForAsync(this HttpClient control, string promptContains, CancellationToken cancellationToken = default) =>
        (await control.ReadVideoStatsAsync(cancellationToken)).StartsByPrompt
            .Where(pair => pair.Key.Contains(promptContains, StringComparison.Ordinal))
            .Sum(pair => pair.Value);

    /// <summary>The relative path of <c>predictLongRunning</c> for <paramref name="model"/>.</summary>
    public static string PredictLongRunningPath(string model) => $"v1beta/models/{model}:predictLongRunning";

    /// <summary>A Veo start body: <c>instances[0].prompt</c>, the optional image, and the parameters given.</summary>
    public static string VideoBody(
        string prompt,
        string? aspectRatio = null,
        string? resolution = null,
        int? sampleCount = null,
        int? durationSeconds = null,
        (string MimeType, byte[] Data)? image = null)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("instances");
            writer.WriteStartObject();
            writer.WriteString("prompt", prompt);
            if (image is { } picture)
            {
                writer.WriteStartObject("image");
                writer.WriteBase64String("bytesBase64Encoded", picture.Data);
                writer.WriteString("mimeType", picture.MimeType);
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteStartObject("parameters");
            if (aspectRatio is not null)
            {
                writer.WriteString("aspectRatio", aspectRatio);
            }

            if (resolution is not null)
            {
                writer.WriteString("resolution", resolution);
            }

            if (sampleCount is { } samples)
            {
                writer.WriteNumber("sampleCount", samples);
            }

            if (durationSeconds is { } seconds)
            {
                writer.WriteNumber("durationSeconds", seconds);
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Posts <paramref name="body"/> to <c>predictLongRunning</c> of <paramref name="model"/>.</summary>
    public static Task<HttpResponseMessage> PostPredictLongRunningAsync(
        this HttpClient client, string model, string body, CancellationToken cancellationToken = default)
    {
        var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return client.PostAsync(PredictLongRunningPath(model), content, cancellationToken);
    }
}
