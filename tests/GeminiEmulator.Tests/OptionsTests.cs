using Microsoft.Extensions.Configuration;

namespace GenerationWorker.GeminiEmulator.Tests;

/// <summary>The EMULATOR_* variables configure the emulator run as a process.</summary>
public sealed class OptionsTests
{
    [Fact]
    public void Variables_SetEveryOption()
    {
        var options = EmulatorOptions.FromConfiguration(Configuration(new()
        {
            ["EMULATOR_API_KEY"] = "k1",
            ["EMULATOR_LEAKED_API_KEY"] = "",
            ["EMULATOR_MODELS"] = "m1, m2",
            ["EMULATOR_RPM"] = "10,m2=3",
            ["EMULATOR_RPD"] = "m1=100",
            ["EMULATOR_WINDOW_SECONDS"] = "2.5",
            ["EMULATOR_IMAGE_SIZE"] = "32",
            ["EMULATOR_REAL_SIZES"] = "true",
            ["EMULATOR_THOUGHT_IMAGES"] = "1",
            ["EMULATOR_FAULTS"] = """{"unavailable":0.1,"next":[{"fault":"hang"}]}""",
            ["EMULATOR_LATENCY_MS"] = "100-400",
            ["EMULATOR_SEED"] = "9",
            ["EMULATOR_VIDEO_MODELS"] = "veo-a, veo-b",
            ["EMULATOR_VIDEO_SECONDS"] = "0.5",
            ["EMULATOR_VIDEO_BYTES"] = "1024",
        }));

        Assert.Equal("k1", options.ApiKey);
        Assert.Null(options.LeakedApiKey);
        Assert.Equal(["m1", "m2"], options.Models);
        Assert.Equal((10, 3, 100, 0), (options.WindowLimitFor("m1"), options.WindowLimitFor("m2"), options.DayLimitFor("m1"), options.DayLimitFor("m2")));
        Assert.Equal(TimeSpan.FromSeconds(2.5), options.Window);
        Assert.Equal(32, options.ImageLongSide);
        Assert.True(options.RealImageSizes);
        Assert.True(options.ThoughtImages);
        Assert.Equal(0.1, options.Faults.Unavailable);
        Assert.Equal("hang", Assert.Single(options.Faults.Next!).Fault);
        Assert.Equal((100.0, 400.0), (options.Faults.LatencyMinMs!.Value, options.Faults.LatencyMaxMs!.Value));
        Assert.Equal(9, options.Faults.Seed);
        Assert.Equal(["veo-a", "veo-b"], options.VideoModels);
        Assert.Equal(TimeSpan.FromSeconds(0.5), options.VideoGenerationTime);
        Assert.Equal(1024, options.VideoMediaBytes);
    }

    [Fact]
    public void NoVariables_KeepTheDefaults()
    {
        var options = EmulatorOptions.FromConfiguration(Configuration([]));

        Assert.Equal(EmulatorOptions.DefaultApiKey, options.ApiKey);
        Assert.Equal(EmulatorOptions.DefaultModels, options.Models);
        Assert.Equal(0, options.WindowLimitFor("gemini-2.5-flash-image"));
        Assert.Equal(TimeSpan.FromSeconds(60), options.Window);
        Assert.Equal(64, options.ImageLongSide);
        Assert.False(options.RealImageSizes);
        Assert.Equal(["veo-3.1-generate-preview", "veo-3.1-fast-generate-preview", "veo-3.0-generate-001", "veo-3.0-fast-generate-001"], options.VideoModels);
        Assert.Equal(TimeSpan.FromSeconds(5), options.VideoGenerationTime);
    }

    [Theory]
    [InlineData("EMULATOR_RPM", "lots")]
    [InlineData("EMULATOR_RPM", "-1")]
    [InlineData("EMULATOR_WINDOW_SECONDS", "0")]
    [InlineData("EMULATOR_FAULTS", "{\"hang\":3}")]
    [InlineData("EMULATOR_FAULTS", "{")]
    [InlineData("EMULATOR_REAL_SIZES", "maybe")]
    [InlineData("EMULATOR_VIDEO_SECONDS", "-1")]
    [InlineData("EMULATOR_VIDEO_SECONDS", "soon")]
    [InlineData("EMULATOR_VIDEO_BYTES", "-5")]
    public void InvalidValues_NameTheVariable(string variable, string value)
    {
        var error = Assert.Throws<InvalidOperationException>(() => EmulatorOptions.FromConfiguration(Configuration(new() { [variable] = value })));

        Assert.Contains(variable, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(37.0, "37s")]
    [InlineData(2.5, "2.5s")]
    [InlineData(0.0, "0s")]
    [InlineData(45.8379069, "45.8379069s")]
    public void ProtoDuration_FormatsAndParses(double seconds, string text)
    {
        var duration = TimeSpan.FromTicks((long)Math.Round(seconds * TimeSpan.TicksPerSecond));

        Assert.Equal(text, ProtoDuration.Format(duration));
        Assert.True(ProtoDuration.TryParse(text, out var parsed));
        Assert.Equal(duration, parsed);
    }

    private static IConfiguration Configuration(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();
}
