using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Images;
using GenerationWorker.Grains.Jobs;

namespace GenerationWorker.Grains.Tests.Images;

/// <summary>What a fatal Gemini answer means: the whole service, or only the job whose model override was refused.</summary>
public sealed class VariantResultTests
{
    private const string Precondition = "User location is not supported for the API use.";

    private static readonly GeminiOptions Defaults = new();

    [Fact]
    public void FailedPrecondition_ForAModelOnlyAnOverrideNames_FailsTheJob_NamingTheModelAndTheOverride()
    {
        var fatal = new GeminiOutcome.Fatal(400, Precondition, "gemini-3.1-flash-image", ServiceWide: false);

        var end = VariantResult.Decide([VariantResult.FromFailure(fatal, Defaults)], attempt: 1);

        var fail = Assert.IsType<JobResult.Fail>(end);
        Assert.Equal(
            "Gemini refused model 'gemini-3.1-flash-image', named by the job's model override (HTTP 400): " + Precondition,
            fail.Error);
        Assert.False(VariantResult.RefusesService(fatal, Defaults));
    }

    [Theory]
    [InlineData("gemini-2.5-flash-image")]
    [InlineData("gemini-3-pro-image")]
    [InlineData("gemini-3-pro-image-preview")]
    [InlineData("veo-3.1-generate-preview")]
    public void FailedPrecondition_ForAConfiguredModel_StopsTheService(string model)
    {
        var fatal = new GeminiOutcome.Fatal(400, Precondition, model, ServiceWide: false);

        var end = VariantResult.Decide([VariantResult.FromFailure(fatal, Defaults)], attempt: 1);

        Assert.Contains(Precondition, Assert.IsType<JobResult.StopService>(end).Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GEMINI_MODEL")]
    [InlineData("GEMINI_FALLBACK_MODEL")]
    [InlineData("GEMINI_HIGH_RES_MODEL")]
    [InlineData("GEMINI_EDIT_MODEL")]
    [InlineData("GEMINI_VIDEO_MODEL")]
    public void EveryConfiguredRole_CountsAsTheOperatorsModel_ComparedAfterTheRetiredIdMapping(string role)
    {
        var options = new GeminiOptions
        {
            Model = "m-model",
            FallbackModel = null,
            HighResModel = "m-high",
            EditModel = "m-edit",
            VideoModel = "m-video",
        };
        switch (role)
        {
            case "GEMINI_MODEL": options.Model = "gemini-3.1-flash-image-preview"; break;
            case "GEMINI_FALLBACK_MODEL": options.FallbackModel = "gemini-3.1-flash-image-preview"; break;
            case "GEMINI_HIGH_RES_MODEL": options.HighResModel = "gemini-3.1-flash-image-preview"; break;
            case "GEMINI_EDIT_MODEL": options.EditModel = "gemini-3.1-flash-image-preview"; break;
            default: options.VideoModel = "gemini-3.1-flash-image-preview"; break;
        }

        Assert.True(ModelRoutes.IsConfigured(options, "gemini-3.1-flash-image"));
        Assert.True(ModelRoutes.IsConfigured(options, "gemini-3.1-flash-image-preview"));
        Assert.False(ModelRoutes.IsConfigured(options, "gemini-3-pro-image"));
    }

    [Theory]
    [InlineData(400)]
    [InlineData(401)]
    [InlineData(403)]
    [InlineData(302)]
    public void AServiceWideRefusal_StopsTheService_WhateverTheModel(int status)
    {
        var fatal = new GeminiOutcome.Fatal(status, "API key not valid. Please pass a valid API key.", "gemini-3.1-flash-image", ServiceWide: true);

        var end = VariantResult.Decide([VariantResult.FromFailure(fatal, Defaults)], attempt: 1);

        Assert.StartsWith($"Gemini refused the service (HTTP {status})", Assert.IsType<JobResult.StopService>(end).Reason, StringComparison.Ordinal);
    }
}
