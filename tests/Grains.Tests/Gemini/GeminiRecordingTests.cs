using System.Text.Json;
using GenerationWorker.Grains.Gemini;

namespace GenerationWorker.Grains.Tests.Gemini;

/// <summary>Replays exchanges recorded against the real Gemini API through the client.</summary>
public sealed class GeminiRecordingTests
{
    private const string ImageRecording = "GenerateContentResponseConfigTest.GenerateContentResponseModalityImageGeminiTest.json";
    private const string StreamedImageRecording = "GenerateContentStreamResponseConfigTest.GenerateContentStreamResponseModalityImageGeminiTest.json";

    [RecordingFact]
    public async Task ImageRecording_YieldsTheRecordedPng()
    {
        var recording = Recording.Load(ImageRecording);
        Assert.Equal(200, recording.Status);
        var expected = RecordedImages(recording.ResponseSegments[0]).Single();

        var (outcome, _) = await Replay.RunAsync(recording.Status, recording.ResponseSegments[0], recording.ContentType);

        var image = Assert.IsType<GeminiOutcome.Image>(outcome);
        Assert.Equal("image/png", image.MimeType);
        Assert.Equal((816, 1024), Png.Size(image.Bytes()));
        Assert.Equal(expected, image.Bytes());
        Assert.StartsWith("I will generate an image of a fluffy, ginger tabby cat", image.Text, StringComparison.Ordinal);
    }

    [RecordingFact]
    public async Task ImageRecording_OurRequestHasTheRecordedShape()
    {
        var recording = Recording.Load(ImageRecording);
        var recordedUri = new Uri(new Uri("https://generativelanguage.googleapis.com"), recording.RequestUrl);
        var model = recordedUri.AbsolutePath.Split('/')[^1].Split(':')[0];
        using var recordedBody = JsonDocument.Parse(recording.RequestBody!);
        var prompt = recordedBody.RootElement.GetProperty("contents")[0].GetProperty("parts")[0].GetProperty("text").GetString()!;

        var (_, sent) = await Replay.RunAsync(
            recording.Status, recording.ResponseSegments[0], recording.ContentType, TestGeminiClient.TextOnly(prompt, model));

        Assert.Equal("POST", sent.Method);
        Assert.Equal(recordedUri.AbsolutePath, sent.Path);
        Assert.Equal("", sent.QueryString);
        Assert.Equal(TestGeminiClient.ApiKey, sent.Headers["x-goog-api-key"]);
        using var sentBody = sent.BodyJson();
        Assert.Equal(JsonShape.Of(recordedBody.RootElement), JsonShape.Of(sentBody.RootElement));
        Assert.Equal(
            ["IMAGE"],
            sentBody.RootElement.GetProperty("generationConfig").GetProperty("responseModalities").EnumerateArray().Select(m => m.GetString()));
    }

    [RecordingFact]
    public async Task StreamedRecording_TheEventCarryingTheImage_ParsesAsOneBody()
    {
        var recording = Recording.Load(StreamedImageRecording);
        var imageEvent = Assert.Single(recording.ResponseSegments, segment => RecordedImages(segment).Count > 0);
        var expected = RecordedImages(imageEvent).Single();

        var (outcome, _) = await Replay.RunAsync(200, imageEvent);

        var image = Assert.IsType<GeminiOutcome.Image>(outcome);
        Assert.Equal("image/png", image.MimeType);
        Assert.Equal(expected, image.Bytes());
        var (width, height) = Png.Size(image.Bytes());
        Assert.True(width > 0 && height > 0);
    }

    [RecordingFact]
    public async Task StreamedRecording_EventsWithoutTheImage_AreNoImage()
    {
        var recording = Recording.Load(StreamedImageRecording);
        var others = recording.ResponseSegments.Where(segment => RecordedImages(segment).Count == 0).ToList();
        Assert.Equal(4, others.Count);

        foreach (var segment in others)
        {
            var (outcome, _) = await Replay.RunAsync(200, segment);

            var blocked = Assert.IsType<GeminiOutcome.Blocked>(outcome);
            Assert.Equal("NO_IMAGE", blocked.Reason);
        }
    }

    [RecordingFact]
    public async Task WrongModelRecording_IsModelNotFound()
    {
        var recording = Recording.Load("GenerateContentErrorHandlingTest.GenerateContentWrongModelNameGeminiTest.json");

        var (outcome, _) = await Replay.RunAsync(
            recording.Status, recording.ResponseSegments[0], recording.ContentType, TestGeminiClient.TextOnly("cat", "wrong-model-name"));

        var notFound = Assert.IsType<GeminiOutcome.ModelNotFound>(outcome);
        Assert.Equal("wrong-model-name", notFound.Model);
        Assert.StartsWith("models/wrong-model-name is not found for API version v1beta", notFound.Message, StringComparison.Ordinal);
    }

    [RecordingFact]
    public async Task StreamWrongModelRecording_IsModelNotFound()
    {
        var recording = Recording.Load("GenerateContentStreamErrorHandlingTest.GenerateContentStreamWrongModelNameGeminiTest.json");

        var (outcome, _) = await Replay.RunAsync(recording.Status, recording.ResponseSegments[0], recording.ContentType);

        Assert.IsType<GeminiOutcome.ModelNotFound>(outcome);
    }

    [RecordingFact]
    public async Task InvalidArgumentRecording_IsRejectedWithGeminisMessage()
    {
        var recording = Recording.Load("GenerateContentErrorHandlingTest.GenerateContentMultiSpeakerVoiceConfigGeminiTest.json");

        var (outcome, _) = await Replay.RunAsync(recording.Status, recording.ResponseSegments[0], recording.ContentType);

        var rejected = Assert.IsType<GeminiOutcome.Rejected>(outcome);
        Assert.Equal("This model only supports text output.", rejected.Message);
    }

    // The Imagen :predict recordings come from a different API the service never calls. They still go through the
    // parser to prove an unexpected 200 shape (predictions[], no candidates) cannot crash it: it means "no image".
    [RecordingFact]
    public async Task ImagenPredictSuccess_HasNoCandidates_IsNoImage()
    {
        var recording = Recording.Load("GenerateImagesTest.GenerateImagesAllConfigParamsGeminiTest.json");

        var (outcome, _) = await Replay.RunAsync(recording.Status, recording.ResponseSegments[0], recording.ContentType);

        var blocked = Assert.IsType<GeminiOutcome.Blocked>(outcome);
        Assert.Equal("NO_IMAGE", blocked.Reason);
        Assert.Null(blocked.Text);
    }

    [RecordingFact]
    public async Task ImagenPredictBlocked_IsNoImage()
    {
        var recording = Recording.Load("GenerateImagesErrorHandlingTest.GenerateImagesBlockedGeminiTest.json");

        var (outcome, _) = await Replay.RunAsync(recording.Status, recording.ResponseSegments[0], recording.ContentType);

        Assert.Equal("NO_IMAGE", Assert.IsType<GeminiOutcome.Blocked>(outcome).Reason);
    }

    [RecordingFact]
    public async Task ImagenPredictWrongModel_IsModelNotFound()
    {
        var recording = Recording.Load("GenerateImagesErrorHandlingTest.GenerateImagesWrongModelNameGeminiTest.json");

        var (outcome, _) = await Replay.RunAsync(recording.Status, recording.ResponseSegments[0], recording.ContentType);

        Assert.IsType<GeminiOutcome.ModelNotFound>(outcome);
    }

    public static TheoryData<string> AllRecordings() => [.. Recording.FileNames()];

    [RecordingTheory]
    [MemberData(nameof(AllRecordings))]
    public async Task EveryRecordedSegment_MapsToTheOutcomeItsStatusCalls(string fileName)
    {
        var recording = Recording.Load(fileName);

        foreach (var segment in recording.ResponseSegments)
        {
            var (outcome, _) = await Replay.RunAsync(recording.Status, segment, recording.ContentType);

            switch (recording.Status)
            {
                case 200:
                    Assert.True(outcome is GeminiOutcome.Image or GeminiOutcome.Blocked, outcome.ToString());
                    break;
                case 400:
                    Assert.IsType<GeminiOutcome.Rejected>(outcome);
                    break;
                case 404:
                    Assert.IsType<GeminiOutcome.ModelNotFound>(outcome);
                    break;
                default:
                    Assert.Fail($"{fileName}: status {recording.Status} has no expectation here");
                    break;
            }
        }
    }

    private static List<byte[]> RecordedImages(string segment)
    {
        using var document = JsonDocument.Parse(segment);
        if (!document.RootElement.TryGetProperty("candidates", out var candidates)
            || !candidates[0].GetProperty("content").TryGetProperty("parts", out var parts))
        {
            return [];
        }

        return [.. parts.EnumerateArray()
            .Where(p => p.TryGetProperty("inlineData", out _))
            .Select(p => Convert.FromBase64String(p.GetProperty("inlineData").GetProperty("data").GetString()!))];
    }
}
