using System.Text.Json;
using GenerationWorker.TestSupport;

namespace GenerationWorker.Grains.Tests.Storage;

/// <summary>Real images for storage tests.</summary>
internal static class TestImages
{
    private static readonly Lazy<byte[]> LazyGeminiPng = new(() =>
    {
        if (RepoPaths.Shared is not { } shared)
        {
            return NoisePng();
        }

        var path = Path.Combine(shared, "fixtures", "gemini-recordings", "GenerateContentResponseConfigTest.GenerateContentResponseModalityImageGeminiTest.json");
        using var recording = JsonDocument.Parse(File.ReadAllBytes(path));
        foreach (var part in recording.RootElement.GetProperty("interactions")[0].GetProperty("response").GetProperty("bodySegments")[0]
                     .GetProperty("candidates")[0].GetProperty("content").GetProperty("parts").EnumerateArray())
        {
            if (part.TryGetProperty("inlineData", out var inline) && inline.GetProperty("mimeType").GetString() == "image/png")
            {
                return Convert.FromBase64String(inline.GetProperty("data").GetString()!);
            }
        }

        throw new InvalidOperationException("No PNG in " + path);
    });

    /// <summary>
    /// The PNG (about 1 MB) Gemini returned in a recorded image generation, or, when the recordings are not beside the
    /// repository, a PNG of noise of about the same size (noise does not compress, like a photo).
    /// </summary>
    public static byte[] GeminiPng => LazyGeminiPng.Value;

    /// <summary>True when the bytes start with the PNG signature.</summary>
    public static bool IsPng(ReadOnlySpan<byte> bytes) => bytes.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);

    private static byte[] NoisePng()
    {
        var random = new Random(42);
        return GenerationWorker.GeminiEmulator.PngEncoder.Encode(600, 600, (_, row) => random.NextBytes(row));
    }
}
