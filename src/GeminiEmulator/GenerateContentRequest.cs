using System.Buffers;
using System.Buffers.Text;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace GenerationWorker.GeminiEmulator;

/// <summary>What the emulator needs from a valid <c>generateContent</c> body.</summary>
/// <param name="Prompt">The text parts, joined by newlines.</param>
/// <param name="AspectRatio">imageConfig.aspectRatio, if given.</param>
/// <param name="ImageSize">imageConfig.imageSize, if given.</param>
/// <param name="ReferenceImages">How many inline images (or file references) the request carried.</param>
/// <param name="WantsImage">False when responseModalities was given without IMAGE.</param>
/// <param name="Parts">Every part of every content, in order.</param>
internal sealed record GenerateContentRequest(
    string Prompt, string? AspectRatio, string? ImageSize, int ReferenceImages, bool WantsImage, IReadOnlyList<ReceivedPart> Parts)
{
    /// <summary>The first input image (inline or file reference), if any.</summary>
    public ReceivedPart? FirstImage => Parts.FirstOrDefault(part => part.Kind != ReceivedPart.TextKind);

    /// <summary>The largest total of decoded inline data Google accepts, in bytes (20 MiB).</summary>
    public const int MaxInlineBytes = 20 * 1024 * 1024;

    /// <summary>The MIME types accepted for inline images.</summary>
    public static readonly IReadOnlySet<string> ImageMimeTypes =
        new HashSet<string>(["image/png", "image/jpeg", "image/webp", "image/heic", "image/heif"], StringComparer.Ordinal);

    private static readonly HashSet<string> RequestFields = Names(
        "contents", "tools", "toolConfig", "safetySettings", "systemInstruction", "generationConfig", "cachedContent", "model", "labels");

    private static readonly HashSet<string> ContentFields = Names("role", "parts");

    private static readonly HashSet<string> PartFields = Names(
        "text", "inlineData", "fileData", "thought", "thoughtSignature", "functionCall", "functionResponse", "executableCode",
        "codeExecutionResult", "videoMetadata", "partMetadata", "mediaResolution");

    private static readonly HashSet<string> PartDataFields = Names(
        "text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode", "codeExecutionResult");

    private static readonly HashSet<string> BlobFields = Names("mimeType", "data");

    private static readonly HashSet<string> GenerationConfigFields = Names(
        "stopSequences", "responseMimeType", "responseSchema", "responseJsonSchema", "responseModalities", "candidateCount",
        "maxOutputTokens", "temperature", "topP", "topK", "seed", "presencePenalty", "frequencyPenalty", "responseLogprobs",
        "logprobs", "enableEnhancedCivicAnswers", "speechConfig", "thinkingConfig", "imageConfig", "mediaResolution");

    private static readonly HashSet<string> ImageConfigFields = Names("aspectRatio", "imageSize");

    /// <summary>Validates a request body the way the real API does and extracts what the answer depends on.</summary>
    public static RequestReading Read(JsonElement root, EmulatedModel model)
    {
        try
        {
            return new RequestReading.Valid(Parse(root, model));
        }
        catch (InvalidRequestException e)
        {
            return new RequestReading.Invalid(ApiError.InvalidArgument(e.Message));
        }
    }

    private static GenerateContentRequest Parse(JsonElement root, EmulatedModel model)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidRequestException("Invalid JSON payload received. Unknown name \"\": Root element must be a message.");
        }

        var prompt = new StringBuilder();
        var state = new ReadState();
        string? aspectRatio = null;
        string? imageSize = null;
        var wantsImage = true;
        var sawContents = false;
        foreach (var property in root.EnumerateObject())
        {
            var name = CheckName(property.Name, RequestFields, "");
            if (name == "contents")
            {
                sawContents = ReadContents(property.Value, prompt, state);
            }
            else if (name == "generationConfig")
            {
                (aspectRatio, imageSize, wantsImage) = ReadGenerationConfig(property.Value, model);
            }
        }

        if (!sawContents)
        {
            throw new InvalidRequestException("* GenerateContentRequest.contents: contents is not specified\n");
        }

        if (aspectRatio is not null && !model.AspectRatios.Contains(aspectRatio))
        {
            throw new InvalidRequestException(
                $"Unsupported aspect ratio \"{aspectRatio}\" for models/{model.Name}. Supported values: {string.Join(", ", model.AspectRatios)}.");
        }

        if (imageSize is not null && model.ImageSizes.Count == 0)
        {
            throw new InvalidRequestException(imageSize is "512" or "1K" or "2K" or "4K"
                ? $"Image size is not supported for models/{model.Name}. Remove generation_config.image_config.image_size."
                : $"Unsupported image size \"{imageSize}\" for models/{model.Name}. This model takes no image size.");
        }

        if (imageSize is not null && !model.ImageSizes.Contains(imageSize))
        {
            throw new InvalidRequestException(
                $"Unsupported image size \"{imageSize}\" for models/{model.Name}. Supported values: {string.Join(", ", model.ImageSizes)}.");
        }

        return new GenerateContentRequest(prompt.ToString(), aspectRatio, imageSize, state.ReferenceImages, wantsImage, state.Parts);
    }

    private static bool ReadContents(JsonElement contents, StringBuilder prompt, ReadState state)
    {
        ExpectKind(contents, JsonValueKind.Array, "contents");
        var index = 0;
        foreach (var content in contents.EnumerateArray())
        {
            var path = $"contents[{index}]";
            ExpectKind(content, JsonValueKind.Object, path);
            var sawParts = false;
            foreach (var property in content.EnumerateObject())
            {
                var name = CheckName(property.Name, ContentFields, path);
                if (name == "role")
                {
                    ExpectString(property.Value, path + ".role");
                }
                else
                {
                    ReadParts(property.Value, path, prompt, state);
                    sawParts = property.Value.GetArrayLength() > 0;
                }
            }

            if (!sawParts)
            {
                throw new InvalidRequestException($"* GenerateContentRequest.{path}.parts: contents.parts must not be empty.\n");
            }

            index++;
        }

        return index > 0;
    }

    private static void ReadParts(JsonElement parts, string contentPath, StringBuilder prompt, ReadState state)
    {
        ExpectKind(parts, JsonValueKind.Array, contentPath + ".parts");
        var index = 0;
        foreach (var part in parts.EnumerateArray())
        {
            var path = $"{contentPath}.parts[{index}]";
            ExpectKind(part, JsonValueKind.Object, path);
            string? data = null;
            foreach (var property in part.EnumerateObject())
            {
                var name = CheckName(property.Name, PartFields, path);
                if (PartDataFields.Contains(name))
                {
                    if (data is not null)
                    {
                        throw new InvalidRequestException(
                            $"Invalid JSON payload received. Oneof field 'data' is already set. Cannot set '{Snake(name)}' at '{path}'.");
                    }

                    data = name;
                }

                switch (name)
                {
                    case "text":
                        ExpectString(property.Value, path + ".text");
                        if (prompt.Length > 0)
                        {
                            prompt.Append('\n');
                        }

                        prompt.Append(property.Value.GetString());
                        state.Parts.Add(new ReceivedPart(ReceivedPart.TextKind, property.Value.GetString(), null, null, null));
                        break;
                    case "inlineData":
                        ReadBlob(property.Value, path + ".inline_data", state);
                        break;
                    case "fileData":
                        ExpectKind(property.Value, JsonValueKind.Object, path + ".file_data");
                        var fileMime = property.Value.TryGetProperty("mimeType", out var mime) && mime.ValueKind == JsonValueKind.String
                            ? mime.GetString()
                            : null;
                        state.Parts.Add(new ReceivedPart(ReceivedPart.FileKind, null, fileMime, null, null));
                        state.ReferenceImages++;
                        break;
                }
            }

            if (data is null)
            {
                throw new InvalidRequestException(
                    $"* GenerateContentRequest.{path}.data: required oneof field 'data' must have one initialized field\n");
            }

            index++;
        }
    }

    private static void ReadBlob(JsonElement blob, string path, ReadState state)
    {
        ExpectKind(blob, JsonValueKind.Object, path);
        string? mimeType = null;
        JsonElement? data = null;
        foreach (var property in blob.EnumerateObject())
        {
            if (CheckName(property.Name, BlobFields, path) == "mimeType")
            {
                ExpectString(property.Value, path + ".mime_type");
                mimeType = property.Value.GetString();
            }
            else
            {
                ExpectString(property.Value, path + ".data");
                data = property.Value;
            }
        }

        if (string.IsNullOrEmpty(mimeType))
        {
            throw new InvalidRequestException($"* GenerateContentRequest.{path}.mime_type: mime_type is not specified\n");
        }

        if (!ImageMimeTypes.Contains(mimeType))
        {
            throw new InvalidRequestException($"Unsupported MIME type: {mimeType}");
        }

        var bytes = data is { } value ? Decode(value, path) : new Decoded([], 0);
        try
        {
            var decoded = bytes.Buffer.AsSpan(0, bytes.Length);
            state.InlineBytes += decoded.Length;
            if (state.InlineBytes > MaxInlineBytes)
            {
                throw new InvalidRequestException($"Request payload size exceeds the limit: {MaxInlineBytes} bytes.");
            }

            if (!LooksLike(mimeType, decoded))
            {
                throw new InvalidRequestException(
                    "Unable to process input image. Please retry or report in https://developers.generativeai.google/guide/troubleshooting");
            }

            var known = ImageHeader.TryReadSize(decoded, out var width, out var height);
            state.Parts.Add(new ReceivedPart(ReceivedPart.ImageKind, null, mimeType, known ? width : null, known ? height : null));
            state.ReferenceImages++;
        }
        finally
        {
            if (bytes.Buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(bytes.Buffer);
            }
        }
    }

    /// <summary>Decodes base64, standard or URL-safe as protobuf JSON accepts, into a pooled buffer.</summary>
    private static Decoded Decode(JsonElement data, string path)
    {
        ReadOnlySpan<byte> raw = JsonMarshal.GetRawUtf8Value(data);
        if (raw.Length >= 2 && raw[0] == (byte)'"')
        {
            raw = raw[1..^1];
        }

        byte[]? unescaped = null;
        if (raw.IndexOf((byte)'\\') >= 0)
        {
            unescaped = Encoding.UTF8.GetBytes(data.GetString()!);
            raw = unescaped;
        }

        bool urlSafe;
        int length;
        if (Base64.IsValid(raw, out length))
        {
            urlSafe = false;
        }
        else if (Base64Url.IsValid(raw, out length))
        {
            urlSafe = true;
        }
        else
        {
            var shown = Encoding.UTF8.GetString(raw[..Math.Min(raw.Length, 40)]);
            throw new InvalidRequestException($"Invalid value at '{path}.data' (TYPE_BYTES), Base64 decoding failed for \"{shown}\"");
        }

        if (length == 0)
        {
            return new Decoded([], 0);
        }

        var buffer = ArrayPool<byte>.Shared.Rent(length);
        var written = urlSafe ? Base64Url.DecodeFromUtf8(raw, buffer) : DecodeStandard(raw, buffer);
        return new Decoded(buffer, written);
    }

    private static int DecodeStandard(ReadOnlySpan<byte> raw, Span<byte> buffer)
    {
        Base64.DecodeFromUtf8(raw, buffer, out _, out var written);
        return written;
    }

    private static bool LooksLike(string mimeType, ReadOnlySpan<byte> head) => mimeType switch
    {
        "image/png" => head.StartsWith((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47]),
        "image/jpeg" => head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]),
        "image/webp" => head.Length >= 12 && head.StartsWith("RIFF"u8) && head[8..12].SequenceEqual("WEBP"u8),
        _ => head.Length >= 8 && head[4..8].SequenceEqual("ftyp"u8),
    };

    private static (string? AspectRatio, string? ImageSize, bool WantsImage) ReadGenerationConfig(JsonElement config, EmulatedModel model)
    {
        const string path = "generation_config";
        ExpectKind(config, JsonValueKind.Object, path);
        string? aspectRatio = null;
        string? imageSize = null;
        var wantsImage = true;
        foreach (var property in config.EnumerateObject())
        {
            switch (CheckName(property.Name, GenerationConfigFields, path))
            {
                case "candidateCount":
                    if (property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetInt32(out var count) || count < 0)
                    {
                        throw new InvalidRequestException(
                            $"Invalid value at '{path}.candidate_count' (TYPE_INT32), {property.Value.GetRawText()}");
                    }

                    if (count > 1)
                    {
                        throw new InvalidRequestException($"Multiple candidates is not enabled for models/{model.Name}");
                    }

                    break;
                case "responseModalities":
                    wantsImage = ReadModalities(property.Value, path + ".response_modalities");
                    break;
                case "imageConfig":
                    (aspectRatio, imageSize) = ReadImageConfig(property.Value, path + ".image_config");
                    break;
                case "speechConfig":
                    throw new InvalidRequestException("This model does not support speech output.");
            }
        }

        return (aspectRatio, imageSize, wantsImage);
    }

    private static bool ReadModalities(JsonElement modalities, string path)
    {
        ExpectKind(modalities, JsonValueKind.Array, path);
        var index = 0;
        var image = false;
        foreach (var modality in modalities.EnumerateArray())
        {
            var value = modality.ValueKind == JsonValueKind.String ? modality.GetString() : null;
            switch (value)
            {
                case "IMAGE":
                    image = true;
                    break;
                case "TEXT" or "MODALITY_UNSPECIFIED":
                    break;
                case "AUDIO":
                    throw new InvalidRequestException("The requested combination of response modalities (AUDIO) is not supported by the model.");
                default:
                    throw new InvalidRequestException(
                        $"Invalid value at '{path}[{index}]' (type.googleapis.com/google.ai.generativelanguage.v1beta.GenerationConfig.Modality), {modality.GetRawText()}");
            }

            index++;
        }

        return image || index == 0;
    }

    private static (string? AspectRatio, string? ImageSize) ReadImageConfig(JsonElement config, string path)
    {
        ExpectKind(config, JsonValueKind.Object, path);
        string? aspectRatio = null;
        string? imageSize = null;
        foreach (var property in config.EnumerateObject())
        {
            if (CheckName(property.Name, ImageConfigFields, path) == "aspectRatio")
            {
                ExpectString(property.Value, path + ".aspect_ratio");
                aspectRatio = property.Value.GetString();
            }
            else
            {
                ExpectString(property.Value, path + ".image_size");
                imageSize = property.Value.GetString();
            }
        }

        return (aspectRatio, imageSize);
    }

    /// <summary>The field's lowerCamel name; protobuf JSON also accepts the snake_case original.</summary>
    private static string CheckName(string name, HashSet<string> known, string path)
    {
        var normalized = name.Contains('_', StringComparison.Ordinal) ? Camel(name) : name;
        if (known.TryGetValue(normalized, out var canonical))
        {
            return canonical;
        }

        throw new InvalidRequestException(path.Length == 0
            ? $"Invalid JSON payload received. Unknown name \"{name}\": Cannot find field."
            : $"Invalid JSON payload received. Unknown name \"{name}\" at '{path}': Cannot find field.");
    }

    private static void ExpectKind(JsonElement element, JsonValueKind kind, string path)
    {
        if (element.ValueKind != kind)
        {
            var expected = kind == JsonValueKind.Array ? "a list" : "an object";
            throw new InvalidRequestException(
                $"Invalid JSON payload received. Expected {expected} for '{path}', got {element.GetRawText()}.");
        }
    }

    private static void ExpectString(JsonElement element, string path)
    {
        if (element.ValueKind != JsonValueKind.String)
        {
            throw new InvalidRequestException($"Invalid value at '{path}' (TYPE_STRING), {element.GetRawText()}");
        }
    }

    private static string Camel(string snake)
    {
        var builder = new StringBuilder(snake.Length);
        var upper = false;
        foreach (var c in snake)
        {
            if (c == '_')
            {
                upper = true;
                continue;
            }

            builder.Append(upper ? char.ToUpperInvariant(c) : c);
            upper = false;
        }

        return builder.ToString();
    }

    private static string Snake(string camel)
    {
        var builder = new StringBuilder(camel.Length + 4);
        foreach (var c in camel)
        {
            if (char.IsUpper(c))
            {
                builder.Append('_').Append(char.ToLowerInvariant(c));
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    private static HashSet<string> Names(params string[] names) => new(names, StringComparer.Ordinal);

    private readonly record struct Decoded(byte[] Buffer, int Length);

    private sealed class ReadState
    {
        public long InlineBytes { get; set; }

        public int ReferenceImages { get; set; }

        public List<ReceivedPart> Parts { get; } = [];
    }

    private sealed class InvalidRequestException(string message) : Exception(message);
}

/// <summary>The result of reading a request body.</summary>
internal abstract record RequestReading
{
    private RequestReading() { }

    /// <summary>The body is valid.</summary>
    public sealed record Valid(GenerateContentRequest Request) : RequestReading;

    /// <summary>The body is invalid; send this error.</summary>
    public sealed record Invalid(ApiError Error) : RequestReading;
}
