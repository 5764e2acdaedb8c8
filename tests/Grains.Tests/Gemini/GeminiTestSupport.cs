using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using GenerationWorker.Grains.Gemini;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace GenerationWorker.Grains.Tests.Gemini;

/// <summary>A Gemini client wired exactly as the service wires it, pointed at a test server.</summary>
public sealed class TestGeminiClient : IDisposable
{
    public const string ApiKey = "AIzaSyTEST-key-0123456789abcdefghijklm";

    private readonly ServiceProvider _services;

    public TestGeminiClient(Uri baseUrl, TimeSpan? timeout = null)
    {
        SpoolDirectory = Directory.CreateTempSubdirectory("gemini-spool-").FullName;
        Options = new GeminiOptions
        {
            ApiKey = ApiKey, BaseUrl = baseUrl, Timeout = timeout ?? TimeSpan.FromSeconds(30), ImageSpoolDirectory = SpoolDirectory,
        };
        _services = new ServiceCollection().AddLogging().AddGeminiClient(Options).Services.BuildServiceProvider();
        Client = _services.GetRequiredService<IGeminiClient>();
    }

    public GeminiOptions Options { get; }

    /// <summary>This client's own directory for images decoded to temporary files.</summary>
    public string SpoolDirectory { get; }

    /// <summary>The temporary image files that exist now.</summary>
    public IReadOnlyList<string> SpooledFiles() => Directory.GetFiles(SpoolDirectory);

    public IGeminiClient Client { get; }

    public IServiceProvider Services => _services;

    public static GeminiImageRequest TextOnly(string prompt, string model = "gemini-2.5-flash-image") =>
        new(model, prompt, [], null, null);

    public void Dispose()
    {
        _services.Dispose();
        Directory.Delete(SpoolDirectory, recursive: true);
    }
}

/// <summary>Reads a generated image whole, for assertions.</summary>
public static class GeneratedImageBytes
{
    public static byte[] Bytes(this GeminiOutcome.Image image) => image.Data.ReadAll();

    public static byte[] ReadAll(this GeneratedImage image)
    {
        using var stream = image.OpenRead();
        var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        Assert.Equal(image.Length, bytes.Length);
        return bytes.ToArray();
    }
}

/// <summary>One of our canned answers in Gemini/Fixtures: a status and a JSON (or deliberately broken) body.</summary>
public sealed record Fixture(int Status, string ContentType, string Body)
{
    public static Fixture Load(string name)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Gemini", "Fixtures", name);
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = document.RootElement;
        var body = root.TryGetProperty("body", out var json) ? json.GetRawText() : root.GetProperty("bodyText").GetString()!;
        return new Fixture(root.GetProperty("status").GetInt32(), root.GetProperty("contentType").GetString()!, body);
    }

    /// <summary>The decoded data of every inlineData part of the first candidate, in order.</summary>
    public IReadOnlyList<byte[]> InlineImages()
    {
        using var document = JsonDocument.Parse(Body);
        return [.. document.RootElement.GetProperty("candidates")[0].GetProperty("content").GetProperty("parts")
            .EnumerateArray()
            .Where(p => p.TryGetProperty("inlineData", out _))
            .Select(p => p.GetProperty("inlineData").GetProperty("data").GetBytesFromBase64())];
    }
}

/// <summary>One recorded exchange with the real Gemini API (see ../shared/fixtures/gemini-recordings/README.md).</summary>
public sealed record Recording(
    string FileName,
    string RequestUrl,
    string? RequestBody,
    int Status,
    string ContentType,
    IReadOnlyList<string> ResponseSegments)
{
    /// <summary>The recordings folder, or null when the shared folder is not beside the repository.</summary>
    public static string? Folder
    {
        get
        {
            try
            {
                var folder = RepoPaths.Shared is { } shared ? Path.Combine(shared, "fixtures", "gemini-recordings") : null;
                return folder is not null && Directory.Exists(folder) ? folder : null;
            }
            catch (InvalidOperationException)
            {
                return null;
            }
        }
    }

    public static IEnumerable<string> FileNames() =>
        Folder is { } folder
            ? Directory.EnumerateFiles(folder, "*.json").Select(Path.GetFileName).Order(StringComparer.Ordinal)!
            : [];

    public static Recording Load(string fileName)
    {
        var folder = Folder ?? throw new InvalidOperationException("The Gemini recordings folder is missing.");
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, fileName)));
        var interactions = document.RootElement.GetProperty("interactions");
        Assert.Equal(1, interactions.GetArrayLength());
        var request = interactions[0].GetProperty("request");
        var response = interactions[0].GetProperty("response");
        var requestSegments = request.GetProperty("bodySegments");
        var contentType = response.GetProperty("headers").TryGetProperty("Content-Type", out var type)
            ? type.GetString()!
            : "application/json";
        return new Recording(
            fileName,
            request.GetProperty("url").GetString()!,
            requestSegments.GetArrayLength() > 0 ? requestSegments[0].GetRawText() : null,
            response.GetProperty("statusCode").GetInt32(),
            contentType,
            [.. response.GetProperty("bodySegments").EnumerateArray().Select(s => s.GetRawText())]);
    }
}

/// <summary>A fact that is skipped, by design, when the shared Gemini recordings are not present.</summary>
public sealed class RecordingFactAttribute : FactAttribute
{
    public RecordingFactAttribute()
    {
        if (Recording.Folder is null)
        {
            Skip = "Skipped by design: ../shared/fixtures/gemini-recordings is not present beside the repository.";
        }
    }
}

/// <summary>A theory over the recordings that is skipped, by design, when they are not present.</summary>
public sealed class RecordingTheoryAttribute : TheoryAttribute
{
    public RecordingTheoryAttribute()
    {
        if (Recording.Folder is null)
        {
            Skip = "Skipped by design: ../shared/fixtures/gemini-recordings is not present beside the repository.";
        }
    }
}

/// <summary>Reads a PNG's signature and IHDR.</summary>
public static class Png
{
    private static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    public static (int Width, int Height) Size(byte[] bytes)
    {
        Assert.True(bytes.Length > 24, "too short to be a PNG");
        Assert.Equal(Signature, bytes[..8]);
        Assert.Equal("IHDR", Encoding.ASCII.GetString(bytes, 12, 4));
        return (BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
    }
}

/// <summary>The set of JSON member paths of a document (<c>contents[].parts[].text</c>), to compare shapes not values.</summary>
public static class JsonShape
{
    public static SortedSet<string> Of(JsonElement element)
    {
        var paths = new SortedSet<string>(StringComparer.Ordinal);
        Walk(element, "", paths);
        return paths;
    }

    private static void Walk(JsonElement element, string path, SortedSet<string> paths)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    var child = path.Length == 0 ? property.Name : path + "." + property.Name;
                    paths.Add(child);
                    Walk(property.Value, child, paths);
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    Walk(item, path + "[]", paths);
                }

                break;
        }
    }
}

/// <summary>Sends one request through the real client to a replay server that gives the canned answer.</summary>
public static class Replay
{
    public static async Task<(GeminiOutcome Outcome, RecordedRequest Request)> RunAsync(
        int status,
        string body,
        string contentType = "application/json; charset=UTF-8",
        GeminiImageRequest? request = null)
    {
        await using var server = await ReplayServer.StartAsync();
        server.Reply(status, body, contentType);
        using var client = new TestGeminiClient(server.BaseUrl);
        var outcome = await client.Client.GenerateImageAsync(request ?? TestGeminiClient.TextOnly("a lighthouse at dusk"));
        Assert.DoesNotContain(TestGeminiClient.ApiKey, outcome.ToString(), StringComparison.Ordinal);
        if (outcome is GeminiOutcome.Image image)
        {
            // Only the winning image may still have a temporary file; disposing it deletes the file.
            Assert.Equal(image.Data.IsFileBacked ? 1 : 0, client.SpooledFiles().Count);
            using (image)
            {
                outcome = image with { Data = GeneratedImage.FromBytes(image.Bytes(), image.MimeType) };
            }
        }

        Assert.Empty(client.SpooledFiles());
        return (outcome, await server.FirstRequest);
    }

    public static Task<(GeminiOutcome Outcome, RecordedRequest Request)> RunAsync(Fixture fixture, GeminiImageRequest? request = null) =>
        RunAsync(fixture.Status, fixture.Body, fixture.ContentType, request);
}
