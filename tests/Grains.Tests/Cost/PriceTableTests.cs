using GenerationWorker.Grains.Cost;
using GenerationWorker.Grains.Gemini;

namespace GenerationWorker.Grains.Tests.Cost;

public sealed class PriceTableTests
{
    [Fact]
    public void Defaults_PriceImagesBySizeAndInputImages_ByLongestPrefix()
    {
        var pro = PriceTable.Defaults.For("gemini-3-pro-image-preview", out var known);

        Assert.True(known);
        Assert.Equal(134_000 + (2 * 1_100), pro.ImageRequestMicros("2K", inputImages: 2));
        Assert.Equal(240_000, pro.ImageRequestMicros("4K", inputImages: 0));
        Assert.Equal(39_000, PriceTable.Defaults.For("gemini-2.5-flash-image", out _).ImageRequestMicros(null, 0));
        Assert.Equal(1_200_000, PriceTable.Defaults.For("veo-3.1-fast-generate-preview", out _).VideoMicros(8));
        Assert.Equal(3_200_000, PriceTable.Defaults.For("veo-3.1-generate-preview", out _).VideoMicros(8));
    }

    [Fact]
    public void UnknownModel_IsPricedByTheDefaultEntry()
    {
        var price = PriceTable.Defaults.For("imagen-9", out var known);

        Assert.False(known);
        Assert.Equal(PriceTable.Defaults.Entries[PriceTable.DefaultKey], price);
    }

    [Fact]
    public void Tokens_ArePricedPerMillionAndRoundedToWholeMicroDollars()
    {
        var flash = PriceTable.Defaults.For("gemini-2.5-flash-image", out _);

        // 7 input tokens at $0.30/M = 2.1 micro-dollars; 10 output tokens at $2.50/M = 25.
        Assert.Equal(27, flash.TokensMicros(new GeminiUsage(7, 10, 17)));
        Assert.Equal(0, flash.TokensMicros(null));
    }

    [Fact]
    public void Parse_OverridesModelByModel_AndKeepsExactDecimals()
    {
        var table = PriceTable.Parse("""{"gemini-2.5-flash-image": {"image": 0.041}, "my-model": {"image": "0.000001", "videoSecond": 0.5}}""");

        Assert.Equal(41_000, table.For("gemini-2.5-flash-image", out _).ImageMicros);
        Assert.Equal(41_000, table.For("gemini-2.5-flash-image", out _).Image4KMicros);
        Assert.Equal(1, table.For("my-model", out _).ImageMicros);
        Assert.Equal(240_000, table.For("gemini-3-pro-image", out _).Image4KMicros);
    }

    [Theory]
    [InlineData("""{"m": {"image": 0.0000001}}""", "six decimals")]
    [InlineData("""{"m": {"image": -1}}""", "not a dollar amount")]
    [InlineData("""{"m": {"picture": 1}}""", "unknown field")]
    [InlineData("""{"m": 1}""", "not an object")]
    [InlineData("""{"m": {""", "not valid JSON")]
    [InlineData("/no/such/prices.json", "neither a JSON object nor a readable file")]
    public void Parse_RejectsBadTables_SayingWhy(string value, string reason)
    {
        var exception = Assert.Throws<FormatException>(() => PriceTable.Parse(value));

        Assert.Contains(reason, exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ReadsAFileItNames()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, """{"veo-3.1-generate": {"videoSecond": 0.35}}""");

            Assert.Equal(350_000, PriceTable.Parse(path).For("veo-3.1-generate-preview", out _).VideoSecondMicros);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
