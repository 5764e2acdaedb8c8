using System.Globalization;
using System.Text.Json;
using GenerationWorker.Grains.Gemini;

namespace GenerationWorker.Grains.Cost;

/// <summary>The list prices of one model, in micro-dollars (1 USD = 1,000,000): exact integers, never floats.</summary>
/// <param name="ImageMicros">Per output image at 1K and 2K.</param>
/// <param name="Image4KMicros">Per output image at 4K.</param>
/// <param name="InputImageMicros">Per input (reference) image.</param>
/// <param name="InputTokenMillionMicros">Per million input tokens: what a 200 answer without an image costs.</param>
/// <param name="OutputTokenMillionMicros">Per million output tokens of an answer without an image (a refusal's text).</param>
/// <param name="VideoSecondMicros">Per second of video.</param>
public sealed record ModelPrice(
    long ImageMicros,
    long Image4KMicros,
    long InputImageMicros,
    long InputTokenMillionMicros,
    long OutputTokenMillionMicros,
    long VideoSecondMicros)
{
    /// <summary>One image request: the output image at <paramref name="imageSize"/> plus each input image.</summary>
    /// <param name="imageSize">The requested size (1K, 2K, 4K), or null for the model's default (1K).</param>
    /// <param name="inputImages">The images the request carries.</param>
    public long ImageRequestMicros(string? imageSize, int inputImages) =>
        (imageSize == "4K" ? Image4KMicros : ImageMicros) + (inputImages * InputImageMicros);

    /// <summary>
    /// A 200 answer without an image, by its tokens, rounded half up to a whole micro-dollar; 0 when it reported none.
    /// </summary>
    public long TokensMicros(GeminiUsage? usage) =>
        (((long)(usage?.PromptTokens ?? 0) * InputTokenMillionMicros) + ((long)(usage?.CandidatesTokens ?? 0) * OutputTokenMillionMicros)
         + 500_000) / 1_000_000;

    /// <summary><paramref name="seconds"/> of video.</summary>
    public long VideoMicros(int seconds) => seconds * VideoSecondMicros;
}

/// <summary>
/// The price of each Gemini model, looked up by the longest configured prefix of a model id
/// (<c>gemini-3-pro-image</c> prices <c>gemini-3-pro-image-preview</c>); a model no entry matches gets the
/// <see cref="DefaultKey"/> entry.
/// </summary>
/// <remarks>
/// <c>GEMINI_PRICES</c> holds a JSON object (or the path of a file holding one) whose entries replace the defaults model
/// by model: <c>{"gemini-3-pro-image": {"image": 0.134, "image4K": 0.24, "inputImage": 0.0011}}</c>. Amounts are
/// dollars with at most six decimals; a field left out is 0 (a model's entry replaces the default one whole).
/// </remarks>
public sealed class PriceTable
{
    /// <summary>The entry that prices models no other entry matches.</summary>
    public const string DefaultKey = "default";

    /// <summary>The date of <see cref="Defaults"/>: Google's published list prices of that day.</summary>
    public const string DefaultsAsOf = "2025-11-20";

    private readonly Dictionary<string, ModelPrice> _prices;

    private PriceTable(Dictionary<string, ModelPrice> prices) => _prices = prices;

    /// <summary>Google's list prices as of <see cref="DefaultsAsOf"/> (paid tier, standard processing).</summary>
    public static PriceTable Defaults { get; } = new(new Dictionary<string, ModelPrice>(StringComparer.Ordinal)
    {
        // $0.039 per image (1290 tokens at $30/M); input $0.30/M; text output $2.50/M.
        ["gemini-2.5-flash-image"] = new(39_000, 39_000, 0, 300_000, 2_500_000, 0),

        // $0.134 per 1K/2K image, $0.24 per 4K image, $0.0011 per input image; input $2/M; text output $12/M.
        ["gemini-3-pro-image"] = new(134_000, 240_000, 1_100, 2_000_000, 12_000_000, 0),
        ["veo-3.1-generate"] = new(0, 0, 0, 0, 0, 400_000),
        ["veo-3.1-fast-generate"] = new(0, 0, 0, 0, 0, 150_000),

        // Unknown models: the dearest known price of each kind, so an unpriced model is never under-counted.
        [DefaultKey] = new(240_000, 240_000, 1_100, 2_000_000, 12_000_000, 400_000),
    });

    /// <summary>The configured entries, default included.</summary>
    public IReadOnlyDictionary<string, ModelPrice> Entries => _prices;

    /// <summary>The price of <paramref name="model"/>; <paramref name="known"/> is false when the default priced it.</summary>
    public ModelPrice For(string model, out bool known)
    {
        var match = _prices.Keys
            .Where(key => key != DefaultKey && model.StartsWith(key, StringComparison.Ordinal))
            .MaxBy(key => key.Length);
        known = match is not null;
        return _prices[match ?? DefaultKey];
    }

    /// <summary>
    /// The defaults with the entries of <paramref name="value"/> (a JSON object, or the path of a file holding one)
    /// laid over them.
    /// </summary>
    /// <exception cref="FormatException">
    /// Not a readable file or JSON object of prices; the message says why, in words that follow the variable's name
    /// (<c>GEMINI_PRICES has entry 'x', which is not an object</c>), as every setting's.
    /// </exception>
    public static PriceTable Parse(string value)
    {
        var json = value.TrimStart().StartsWith('{') ? value : ReadFile(value);
        var prices = new Dictionary<string, ModelPrice>(Defaults._prices, StringComparer.Ordinal);
        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException("is not a JSON object of model prices");
            }

            foreach (var model in document.RootElement.EnumerateObject())
            {
                prices[model.Name] = ParseModel(model);
            }
        }
        catch (JsonException exception)
        {
            throw new FormatException("is not valid JSON: " + exception.Message, exception);
        }

        return new PriceTable(prices);
    }

    private static string ReadFile(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new FormatException("is neither a JSON object nor a readable file (" + exception.GetType().Name + ")", exception);
        }
    }

    private static ModelPrice ParseModel(JsonProperty model)
    {
        if (model.Value.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"has entry '{model.Name}', which is not an object");
        }

        long image = 0, image4K = -1, inputImage = 0, inputTokens = 0, outputTokens = 0, videoSecond = 0;
        foreach (var field in model.Value.EnumerateObject())
        {
            var micros = Micros(model.Name, field);
            switch (field.Name)
            {
                case "image": image = micros; break;
                case "image4K": image4K = micros; break;
                case "inputImage": inputImage = micros; break;
                case "inputTokensPerMillion": inputTokens = micros; break;
                case "outputTokensPerMillion": outputTokens = micros; break;
                case "videoSecond": videoSecond = micros; break;
                default:
                    throw new FormatException(
                        $"has entry '{model.Name}' with an unknown field '{field.Name}' (expected image, image4K, inputImage, inputTokensPerMillion, outputTokensPerMillion, videoSecond)");
            }
        }

        return new ModelPrice(image, image4K < 0 ? image : image4K, inputImage, inputTokens, outputTokens, videoSecond);
    }

    /// <summary>A dollar amount as exact micro-dollars: a JSON number (or numeric string) with at most six decimals.</summary>
    private static long Micros(string model, JsonProperty field)
    {
        var text = field.Value.ValueKind switch
        {
            JsonValueKind.Number => field.Value.GetRawText(),
            JsonValueKind.String => field.Value.GetString()!,
            _ => null,
        };
        if (text is null
            || !decimal.TryParse(text, NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var dollars)
            || dollars < 0 || dollars > 1_000_000)
        {
            throw new FormatException($"has '{model}.{field.Name}', which is not a dollar amount between 0 and 1000000");
        }

        var micros = dollars * 1_000_000m;
        if (micros != decimal.Truncate(micros))
        {
            throw new FormatException($"has '{model}.{field.Name}' with more than six decimals (prices are kept in whole micro-dollars)");
        }

        return (long)micros;
    }

    /// <summary>Micro-dollars as an exact dollar amount (0.039).</summary>
    public static decimal Dollars(long micros) => micros / 1_000_000m;
}
