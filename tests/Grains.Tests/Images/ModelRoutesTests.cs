using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Images;

namespace GenerationWorker.Grains.Tests.Images;

public sealed class ModelRoutesTests
{
    private static readonly GeminiOptions Defaults = new();

    [Fact]
    public void Generation_At1K_TakesTheOverrides_AndSendsNoSizeToAModelWithoutOne()
    {
        var route = ModelRoutes.ForGeneration(Defaults, Request("1K", "gemini-3.1-flash-image", "gemini-3-pro-image"));

        Assert.Equal(("gemini-3.1-flash-image", "gemini-3-pro-image"), (route.Model, route.Fallback));
        Assert.Equal("1K", route.SizeFor(route.Model));
        Assert.Null(route.SizeFor("gemini-2.5-flash-image"));
    }

    [Fact]
    public void Generation_WithoutQuality_UsesGeminiModel_WithoutASelfFallback()
    {
        var route = ModelRoutes.ForGeneration(Defaults, Request(null, null, null));

        Assert.Equal(("gemini-2.5-flash-image", null, null), (route.Model, route.Fallback, route.ImageSize));
    }

    [Theory]
    [InlineData("2K")]
    [InlineData("4K")]
    public void Generation_At2KOr4K_ReplacesAnOverrideThatCannotMakeTheSize_AndCallsNoFallbackThatCannot(string size)
    {
        var route = ModelRoutes.ForGeneration(Defaults, Request(size, "gemini-2.5-flash-image", null));

        Assert.Equal(("gemini-3-pro-image", size, "gemini-2.5-flash-image"), (route.Model, route.SizeFor(route.Model), route.ReplacedOverride));
        Assert.Null(route.Fallback);
    }

    [Fact]
    public void Generation_At2K_KeepsAnOverrideThatCanMakeIt_AndAFallbackThatCan()
    {
        var route = ModelRoutes.ForGeneration(Defaults, Request("2K", "gemini-3.1-flash-image", "gemini-3-pro-image-preview"));

        Assert.Equal(("gemini-3.1-flash-image", "gemini-3-pro-image", null), (route.Model, route.Fallback, route.ReplacedOverride));
    }

    [Fact]
    public void RetiredPreviewIds_MapToTheirGaIds()
    {
        Assert.Equal("gemini-3-pro-image", ModelRoutes.Current("gemini-3-pro-image-preview"));
        Assert.Equal("gemini-3.1-flash-image", ModelRoutes.Current("gemini-3.1-flash-image-preview"));
        Assert.Equal("gemini-2.5-flash-image", ModelRoutes.Current("gemini-2.5-flash-image"));
    }

    [Fact]
    public void Edit_UsesTheEditModelAndTheFallbackModel_AskingTheSizeOnlyOfAModelThatTakesIt()
    {
        var options = new GeminiOptions { EditModel = "gemini-3-pro-image-preview", FallbackModel = "gemini-2.5-flash-image" };
        var route = ModelRoutes.ForEdit(options, new EditRequest(
            new GenerationWorker.Grains.Jobs.ImageReference.AppRelative("/a.png"), "x", [], "4K", true, null, null, [], "{}"));

        Assert.Equal(("gemini-3-pro-image", "gemini-2.5-flash-image", "4K"), (route.Model, route.Fallback, route.SizeFor(route.Model)));
        Assert.Null(route.SizeFor(route.Fallback!));
    }

    [Theory]
    [InlineData(0, 1, 90)]
    [InlineData(0, 4, 23)]
    [InlineData(1, 4, 45)]
    [InlineData(3, 4, 90)]
    [InlineData(4, 4, 90)]
    public void GenerationProgress_IsTheAppsRoundOfIPlusOneOverNTimes90(int index, int variants, int expected) =>
        Assert.Equal(expected, ImageGenerationHandler.ProgressAtStart(index, variants));

    private static GenerationRequest Request(string? size, string? model, string? fallback) =>
        new("p", 1, null, size, [], [], model, fallback, null, [], "{}");
}
