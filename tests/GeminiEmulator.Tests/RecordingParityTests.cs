using System.Net;
using System.Text.Json;
using GenerationWorker.TestSupport;

namespace GenerationWorker.GeminiEmulator.Tests;

/// <summary>Our answers have the same field names, nesting and status codes as the real API's recorded ones.</summary>
public sealed class RecordingParityTests
{
    private static readonly string? Recordings = RepoPaths.Shared is { } shared
        ? Path.Combine(shared, "fixtures", "gemini-recordings")
        : null;

    [Fact]
    public async Task Success_HasTheRecordedFieldsAndNesting()
    {
        if (Load("GenerateContentResponseConfigTest.GenerateContentResponseModalityImageGeminiTest.json") is not { } recorded)
        {
            return;
        }

        await using var session = await EmulatorSession.StartAsync();
        var reply = await session.GenerateAsync("Can you generate an image of a cat?");

        Assert.Equal((int)recorded.Status, (int)reply.Status);
        Assert.Equal(Shape(recorded.Body), Shape(reply.Json));
        Assert.StartsWith("application/json", reply.ContentType);
    }

    [Fact]
    public async Task UnknownModel_MatchesTheRecorded404()
    {
        if (Load("GenerateContentErrorHandlingTest.GenerateContentWrongModelNameGeminiTest.json") is not { } recorded)
        {
            return;
        }

        await using var session = await EmulatorSession.StartAsync();
        var reply = await session.GenerateAsync("What is the capital of France?", model: "wrong-model-name");

        Assert.Equal(recorded.Status, reply.Status);
        AssertSameErrorEnvelope(recorded.Body, reply.Json);
        Assert.Equal(recorded.Body.GetProperty("error").GetProperty("message").GetString(), reply.ErrorMessage);
    }

    [Fact]
    public async Task InvalidArgument_MatchesTheRecorded400Envelope()
    {
        if (Load("GenerateContentErrorHandlingTest.GenerateContentMultiSpeakerVoiceConfigGeminiTest.json") is not { } recorded)
        {
            return;
        }

        await using var session = await EmulatorSession.StartAsync();
        var reply = await session.PostAsync(EmulatorSession.Model, """{"contents":[{"parts":[{"text":"x"}]}],"generationConfig":{"responseModalities":["AUDIO"]}}""");

        Assert.Equal(recorded.Status, reply.Status);
        AssertSameErrorEnvelope(recorded.Body, reply.Json);
    }

    /// <summary>code, message and status as recorded; details only when present, each with an @type.</summary>
    private static void AssertSameErrorEnvelope(JsonElement recorded, JsonElement ours)
    {
        Assert.Equal(["error"], ours.EnumerateObject().Select(p => p.Name));
        var recordedError = recorded.GetProperty("error");
        var ourError = ours.GetProperty("error");
        Assert.Equal(recordedError.GetProperty("code").GetInt32(), ourError.GetProperty("code").GetInt32());
        Assert.Equal(recordedError.GetProperty("status").GetString(), ourError.GetProperty("status").GetString());
        var allowed = recordedError.EnumerateObject().Select(p => p.Name).ToHashSet();
        Assert.All(ourError.EnumerateObject(), p => Assert.Contains(p.Name, allowed));
        Assert.Equal(JsonValueKind.String, ourError.GetProperty("message").ValueKind);
    }

    /// <summary>Every path to a value with its JSON kind; array elements share the path "[]".</summary>
    private static SortedSet<string> Shape(JsonElement element)
    {
        var paths = new SortedSet<string>(StringComparer.Ordinal);
        void Walk(JsonElement e, string path)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var p in e.EnumerateObject())
                    {
                        Walk(p.Value, path + "." + p.Name);
                    }

                    break;
                case JsonValueKind.Array:
                    foreach (var item in e.EnumerateArray())
                    {
                        Walk(item, path + "[]");
                    }

                    break;
                default:
                    paths.Add(path + ":" + (e.ValueKind is JsonValueKind.True or JsonValueKind.False ? "Boolean" : e.ValueKind.ToString()));
                    break;
            }
        }

        Walk(element, "");
        return paths;
    }

    private static (HttpStatusCode Status, JsonElement Body)? Load(string file)
    {
        if (Recordings is null || !File.Exists(Path.Combine(Recordings, file)))
        {
            return null;
        }

        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Recordings, file)));
        var response = document.RootElement.GetProperty("interactions")[0].GetProperty("response");
        return ((HttpStatusCode)response.GetProperty("statusCode").GetInt32(), response.GetProperty("bodySegments")[0].Clone());
    }
}
