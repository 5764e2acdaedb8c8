using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using GenerationWorker.GeminiEmulator;

namespace GenerationWorker.TestSupport;

/// <summary>Builds <c>generateContent</c> requests for tests that talk to the emulator directly.</summary>
public static class GeminiEmulatorRequests
{
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
}
