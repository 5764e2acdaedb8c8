using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace GenerationWorker.GeminiEmulator;

/// <summary>How the Gemini emulator behaves. Every property names the environment variable that sets it.</summary>
public sealed class EmulatorOptions
{
    /// <summary>The default API key, <c>emulator-key</c>.</summary>
    public const string DefaultApiKey = "emulator-key";

    /// <summary>The default leaked API key, <c>emulator-leaked-key</c>.</summary>
    public const string DefaultLeakedApiKey = "emulator-leaked-key";

    /// <summary>The models known by default.</summary>
    public static readonly IReadOnlyList<string> DefaultModels =
        ["gemini-2.5-flash-image", "gemini-3-pro-image", "gemini-3.1-flash-image", "gemini-3.1-flash-lite-image"];

    /// <summary><c>EMULATOR_API_KEY</c>: the only accepted <c>x-goog-api-key</c>; default <c>emulator-key</c>.</summary>
    public string ApiKey { get; set; } = DefaultApiKey;

    /// <summary><c>EMULATOR_LEAKED_API_KEY</c>: a key answered with 403 "reported as leaked"; default
    /// <c>emulator-leaked-key</c>; empty for none.</summary>
    public string? LeakedApiKey { get; set; } = DefaultLeakedApiKey;

    /// <summary><c>EMULATOR_MODELS</c> (comma separated): the model ids that exist; others answer 404.</summary>
    public IList<string> Models { get; set; } = [.. DefaultModels];

    /// <summary><c>EMULATOR_VIDEO_MODELS</c> (comma separated): the Veo model ids that exist for
    /// <c>predictLongRunning</c>; default veo-3.1-generate-preview, veo-3.1-fast-generate-preview, veo-3.0-generate-001,
    /// veo-3.0-fast-generate-001.</summary>
    public IList<string> VideoModels { get; set; } = [.. VideoRequest.DefaultModels];

    /// <summary><c>EMULATOR_VIDEO_SECONDS</c>: how long a Veo operation runs before polls answer <c>done</c>, measured
    /// on <see cref="TimeProvider"/>; default 5 s. The prompt directive <c>video-time=2s</c> overrides it.</summary>
    public TimeSpan VideoGenerationTime { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary><c>EMULATOR_VIDEO_BYTES</c>: the size of the <c>mdat</c> payload of each generated MP4, in bytes;
    /// default 65536.</summary>
    public int VideoMediaBytes { get; set; } = 64 * 1024;

    /// <summary><c>EMULATOR_RPM</c>: requests admitted per model in any sliding <see cref="Window"/>; 0 = unlimited
    /// (default). The variable takes <c>10</c> or <c>10,gemini-3-pro-image=2</c> (default, then per-model values).</summary>
    public int RequestsPerWindow { get; set; }

    /// <summary>Per-model overrides of <see cref="RequestsPerWindow"/> (0 = unlimited).</summary>
    public IDictionary<string, int> RequestsPerWindowByModel { get; set; } = new Dictionary<string, int>(StringComparer.Ordinal);

    /// <summary><c>EMULATOR_WINDOW_SECONDS</c>: the length of the quota window, and of the window in which statistics
    /// count the most requests; default 60 s.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary><c>EMULATOR_RPD</c>: requests admitted per model per Pacific calendar day; 0 = unlimited (default).
    /// Same syntax as <c>EMULATOR_RPM</c>.</summary>
    public int RequestsPerDay { get; set; }

    /// <summary>Per-model overrides of <see cref="RequestsPerDay"/> (0 = unlimited).</summary>
    public IDictionary<string, int> RequestsPerDayByModel { get; set; } = new Dictionary<string, int>(StringComparer.Ordinal);

    /// <summary><c>EMULATOR_IMAGE_SIZE</c>: the longest side of every image in pixels when <see cref="RealImageSizes"/>
    /// is off; default 64.</summary>
    public int ImageLongSide { get; set; } = 64;

    /// <summary><c>EMULATOR_REAL_SIZES</c>: when true, images have the model's published pixel size for the ratio and
    /// image size (gemini-2.5-flash-image 16:9: 1344x768; Gemini 3 16:9 at 1K/2K/4K: 1376x768, 2752x1536, 5504x3072);
    /// default false (<see cref="ImageLongSide"/>, exactly the ratio).</summary>
    public bool RealImageSizes { get; set; }

    /// <summary><c>EMULATOR_IMAGE_CACHE_MB</c>: the encoded PNG cache's size limit in bytes; default 256 MiB.</summary>
    public long ImageCacheBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary><c>EMULATOR_THOUGHT_IMAGES</c>: when true, Gemini 3 models send an interim <c>"thought": true</c> image
    /// before the final one, which carries a <c>thoughtSignature</c>; default false.</summary>
    public bool ThoughtImages { get; set; }

    /// <summary><c>EMULATOR_RESPONSE_TEXT</c>: when true (default), a successful answer starts with a text part.</summary>
    public bool ResponseText { get; set; } = true;

    /// <summary><c>EMULATOR_FAULTS</c> (JSON), <c>EMULATOR_LATENCY_MS</c> (<c>250</c> or <c>100-400</c>) and
    /// <c>EMULATOR_SEED</c>: the faults in force at start and after <c>POST /_emulator/reset</c>; default none.</summary>
    public FaultSettings Faults { get; set; } = new();

    /// <summary><c>EMULATOR_LOG_CAPACITY</c>: how many recent requests the statistics keep; default 1000.</summary>
    public int RequestLogCapacity { get; set; } = 1000;

    /// <summary>The clock of the quota window, retry delays, latency and statistics; default the system clock.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>The admission limit per window for <paramref name="model"/> (0 = unlimited).</summary>
    public int WindowLimitFor(string model) =>
        RequestsPerWindowByModel.TryGetValue(model, out var limit) ? limit : RequestsPerWindow;

    /// <summary>The admission limit per day for <paramref name="model"/> (0 = unlimited).</summary>
    public int DayLimitFor(string model) =>
        RequestsPerDayByModel.TryGetValue(model, out var limit) ? limit : RequestsPerDay;

    /// <summary>Reads the <c>EMULATOR_*</c> settings; absent ones keep their defaults.</summary>
    /// <exception cref="InvalidOperationException">A value cannot be parsed; the message names the variable.</exception>
    public static EmulatorOptions FromConfiguration(IConfiguration configuration)
    {
        var options = new EmulatorOptions();
        string? Value(string name) => string.IsNullOrWhiteSpace(configuration[name]) ? null : configuration[name]!.Trim();

        options.ApiKey = Value("EMULATOR_API_KEY") ?? options.ApiKey;
        if (configuration["EMULATOR_LEAKED_API_KEY"] is { } leaked)
        {
            options.LeakedApiKey = leaked.Length == 0 ? null : leaked;
        }

        if (Value("EMULATOR_MODELS") is { } models)
        {
            options.Models = [.. models.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
        }

        if (Value("EMULATOR_VIDEO_MODELS") is { } videoModels)
        {
            options.VideoModels = [.. videoModels.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
        }

        if (Value("EMULATOR_VIDEO_SECONDS") is { } videoSeconds)
        {
            options.VideoGenerationTime = TimeSpan.FromSeconds(ParseDouble("EMULATOR_VIDEO_SECONDS", videoSeconds));
        }

        if (Value("EMULATOR_VIDEO_BYTES") is { } videoBytes)
        {
            options.VideoMediaBytes = ParseInt("EMULATOR_VIDEO_BYTES", videoBytes);
        }

        if (Value("EMULATOR_RPM") is { } rpm)
        {
            options.RequestsPerWindow = ParseLimits("EMULATOR_RPM", rpm, options.RequestsPerWindowByModel);
        }

        if (Value("EMULATOR_RPD") is { } rpd)
        {
            options.RequestsPerDay = ParseLimits("EMULATOR_RPD", rpd, options.RequestsPerDayByModel);
        }

        if (Value("EMULATOR_WINDOW_SECONDS") is { } window)
        {
            options.Window = TimeSpan.FromSeconds(ParseDouble("EMULATOR_WINDOW_SECONDS", window));
        }

        if (Value("EMULATOR_IMAGE_SIZE") is { } size)
        {
            options.ImageLongSide = ParseInt("EMULATOR_IMAGE_SIZE", size);
        }

        options.RealImageSizes = ParseBool("EMULATOR_REAL_SIZES", Value("EMULATOR_REAL_SIZES"), options.RealImageSizes);
        options.ThoughtImages = ParseBool("EMULATOR_THOUGHT_IMAGES", Value("EMULATOR_THOUGHT_IMAGES"), options.ThoughtImages);
        options.ResponseText = ParseBool("EMULATOR_RESPONSE_TEXT", Value("EMULATOR_RESPONSE_TEXT"), options.ResponseText);
        if (Value("EMULATOR_IMAGE_CACHE_MB") is { } cache)
        {
            options.ImageCacheBytes = ParseInt("EMULATOR_IMAGE_CACHE_MB", cache) * 1024L * 1024;
        }

        if (Value("EMULATOR_LOG_CAPACITY") is { } capacity)
        {
            options.RequestLogCapacity = ParseInt("EMULATOR_LOG_CAPACITY", capacity);
        }

        if (Value("EMULATOR_FAULTS") is { } faults)
        {
            try
            {
                options.Faults = JsonSerializer.Deserialize(faults, EmulatorJsonContext.Default.FaultSettings)
                    ?? throw new InvalidOperationException("EMULATOR_FAULTS is null");
            }
            catch (JsonException e)
            {
                throw new InvalidOperationException("EMULATOR_FAULTS is not valid fault JSON: " + e.Message, e);
            }
        }

        if (Value("EMULATOR_LATENCY_MS") is { } latency)
        {
            var dash = latency.IndexOf('-', StringComparison.Ordinal);
            options.Faults = dash < 0
                ? options.Faults with { LatencyMs = ParseDouble("EMULATOR_LATENCY_MS", latency) }
                : options.Faults with
                {
                    LatencyMinMs = ParseDouble("EMULATOR_LATENCY_MS", latency[..dash]),
                    LatencyMaxMs = ParseDouble("EMULATOR_LATENCY_MS", latency[(dash + 1)..]),
                };
        }

        if (Value("EMULATOR_SEED") is { } seed)
        {
            options.Faults = options.Faults with { Seed = ParseInt("EMULATOR_SEED", seed) };
        }

        options.Validate();
        return options;
    }

    /// <summary>Checks the values; the message names the variable to fix.</summary>
    /// <exception cref="InvalidOperationException">A value is out of range.</exception>
    public void Validate()
    {
        List<string> errors = [];
        if (string.IsNullOrEmpty(ApiKey))
        {
            errors.Add("EMULATOR_API_KEY must not be empty");
        }

        if (Models.Count == 0)
        {
            errors.Add("EMULATOR_MODELS must name at least one model");
        }

        if (Window <= TimeSpan.Zero)
        {
            errors.Add("EMULATOR_WINDOW_SECONDS must be positive");
        }

        if (RequestsPerWindow < 0 || RequestsPerWindowByModel.Values.Any(v => v < 0))
        {
            errors.Add("EMULATOR_RPM must not be negative");
        }

        if (RequestsPerDay < 0 || RequestsPerDayByModel.Values.Any(v => v < 0))
        {
            errors.Add("EMULATOR_RPD must not be negative");
        }

        if (ImageLongSide is < 8 or > 8192)
        {
            errors.Add("EMULATOR_IMAGE_SIZE must be between 8 and 8192 pixels");
        }

        if (VideoGenerationTime < TimeSpan.Zero)
        {
            errors.Add("EMULATOR_VIDEO_SECONDS must not be negative");
        }

        if (VideoMediaBytes is < 0 or > 256 * 1024 * 1024)
        {
            errors.Add("EMULATOR_VIDEO_BYTES must be between 0 and 268435456");
        }

        if (RequestLogCapacity < 0)
        {
            errors.Add("EMULATOR_LOG_CAPACITY must not be negative");
        }

        if (EmulatorFaults.Check(Faults) is { } faultError)
        {
            errors.Add("EMULATOR_FAULTS: " + faultError);
        }

        if (errors.Count > 0)
        {
            throw new InvalidOperationException("Invalid emulator settings: " + string.Join("; ", errors));
        }
    }

    private static int ParseLimits(string variable, string value, IDictionary<string, int> byModel)
    {
        var fallback = 0;
        foreach (var item in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = item.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0)
            {
                fallback = ParseInt(variable, item);
            }
            else
            {
                byModel[item[..equals].Trim()] = ParseInt(variable, item[(equals + 1)..]);
            }
        }

        return fallback;
    }

    private static int ParseInt(string variable, string value) =>
        int.TryParse(value.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var result)
            ? result
            : throw new InvalidOperationException($"{variable} must be an integer, got '{value}'");

    private static double ParseDouble(string variable, string value) =>
        double.TryParse(value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var result)
            ? result
            : throw new InvalidOperationException($"{variable} must be a number, got '{value}'");

    private static bool ParseBool(string variable, string? value, bool fallback) => value switch
    {
        null => fallback,
        "1" => true,
        "0" => false,
        _ when bool.TryParse(value, out var result) => result,
        _ => throw new InvalidOperationException($"{variable} must be true or false, got '{value}'"),
    };
}
