using System.Text;
using System.Text.Json;
using GenerationWorker.Grains.Gemini;

namespace GenerationWorker.Grains.Tests.Gemini;

/// <summary>The streaming reader of generateContent 200 bodies, fed in pieces of every size.</summary>
public sealed class GenerateContentReaderTests : IDisposable
{
    private const int Mb = 1 << 20;

    private readonly string _spool = Directory.CreateTempSubdirectory("reader-spool-").FullName;

    public void Dispose() => Directory.Delete(_spool, recursive: true);

    public static TheoryData<string> SuccessBodies()
    {
        var names = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(AppContext.BaseDirectory, "Gemini", "Fixtures"), "*.json").Order(StringComparer.Ordinal))
        {
            var fixture = Fixture.Load(Path.GetFileName(file));
            if (fixture.Status == 200 && IsJson(fixture.Body))
            {
                names.Add("fixture:" + Path.GetFileName(file));
            }
        }

        foreach (var file in Recording.FileNames())
        {
            var recording = Recording.Load(file);
            for (var i = 0; recording.Status == 200 && i < recording.ResponseSegments.Count; i++)
            {
                names.Add($"recording:{file}#{i}");
            }
        }

        return names;
    }

    [Theory]
    [MemberData(nameof(SuccessBodies))]
    public async Task EveryRecordedAndCannedBody_ReadInPiecesOfOneToSevenBytes_SaysWhatTheFormerDeserializerSaid(string name)
    {
        var body = Body(name);
        var expected = FormerRule(body);

        foreach (var stream in new Stream[] { new MemoryStream(Encoding.UTF8.GetBytes(body)), new TrickleStream(Encoding.UTF8.GetBytes(body), seed: name.Length) })
        {
            var summary = await ReadAsync(stream);
            using (summary.Image)
            {
                Assert.Equal(expected, Describe(summary));
            }
        }

        Assert.Empty(Directory.GetFiles(_spool));
    }

    [RecordingFact]
    public async Task UsageMetadata_OfTheRecordedImageAnswer_IsReadBesideTheImage_InPiecesOfEverySize()
    {
        var body = Body("recording:GenerateContentResponseConfigTest.GenerateContentResponseModalityImageGeminiTest.json#0");
        using var document = JsonDocument.Parse(body);
        var usage = document.RootElement.GetProperty("usageMetadata");
        var expected = new GeminiUsage(
            usage.TryGetProperty("promptTokenCount", out var prompt) ? prompt.GetInt32() : null,
            usage.GetProperty("candidatesTokenCount").GetInt32(),
            usage.GetProperty("totalTokenCount").GetInt32());

        foreach (var stream in new Stream[] { new MemoryStream(Encoding.UTF8.GetBytes(body)), new TrickleStream(Encoding.UTF8.GetBytes(body), seed: 3) })
        {
            var summary = await ReadAsync(stream);
            using (summary.Image)
            {
                Assert.NotNull(summary.Image);
                Assert.Equal(expected, summary.Usage);
                Assert.Equal(1341, summary.Usage!.CandidatesTokens);
            }
        }
    }

    [Fact]
    public async Task UsageMetadata_WithATokenCountOfTheWrongType_IsNotAResponse()
    {
        var body = """{"candidates":[{"content":{"parts":[{"text":"no"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":"ten"}}""";

        await Assert.ThrowsAsync<JsonException>(() => ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(body))));
    }

    [Fact]
    public async Task Base64SplitAtEveryByte_WithAndWithoutEscapes_DecodesTheSameImage()
    {
        var image = RandomBytes(301, seed: 1);
        var base64 = Convert.ToBase64String(image);
        foreach (var data in new[] { base64, base64.Replace("/", "\\/", StringComparison.Ordinal).Replace("+", "\\u002B", StringComparison.Ordinal) })
        {
            var body = Encoding.UTF8.GetBytes(
                $$$"""{"candidates":[{"content":{"parts":[{"inlineData":{"data" : "{{{data}}}","mimeType":"image/png"}}]},"finishReason":"STOP"}]}""");
            for (var split = 0; split <= body.Length; split++)
            {
                var summary = await ReadAsync(new SplitStream(body, split));

                using var read = Assert.IsType<GeneratedImage>(summary.Image);
                Assert.Equal(image, read.ReadAll());
                Assert.Equal("image/png", read.MimeType);
                Assert.Equal("STOP", summary.FinishReason);
            }
        }
    }

    [Fact]
    public async Task ThoughtImagesThenTheFinalImage_OnlyTheFinalOneKeepsItsFile_UntilDisposed()
    {
        var images = Enumerable.Range(0, 4).Select(i => RandomBytes(Mb + 1000 * i, seed: 10 + i)).ToArray();
        var body = Encoding.UTF8.GetBytes(ImageBody(
            (images[0], true, "image/png"), (images[1], true, "image/png"), (images[2], false, "image/webp"), (images[3], true, "image/png")));

        var summary = await ReadAsync(new TrickleStream(body, seed: 3, largest: 64 * 1024));

        var image = Assert.IsType<GeneratedImage>(summary.Image);
        Assert.True(image.IsFileBacked);
        Assert.Single(Directory.GetFiles(_spool));
        Assert.Equal(images[2], image.ReadAll());
        Assert.Equal("image/webp", image.MimeType);
        image.Dispose();
        Assert.Empty(Directory.GetFiles(_spool));
    }

    [Fact]
    public async Task OnlyThoughtImages_TheLastOneWins()
    {
        var images = Enumerable.Range(0, 3).Select(i => RandomBytes(Mb + 7 + i, seed: 20 + i)).ToArray();
        var body = Encoding.UTF8.GetBytes(ImageBody((images[0], true, "image/png"), (images[1], true, "image/png"), (images[2], true, "image/png")));

        using var image = Assert.IsType<GeneratedImage>((await ReadAsync(new MemoryStream(body))).Image);

        Assert.Equal(images[2], image.ReadAll());
        Assert.Single(Directory.GetFiles(_spool));
    }

    [Fact]
    public async Task ImagesUpToOneMebibyte_StayInMemory_LargerOnesGoToAFile()
    {
        using var small = Assert.IsType<GeneratedImage>((await ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(
            ImageBody((RandomBytes(ImageSpool.MemoryLimitBytes, 30), false, "image/png")))))).Image);
        Assert.False(small.IsFileBacked);
        Assert.Empty(Directory.GetFiles(_spool));

        using var large = Assert.IsType<GeneratedImage>((await ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(
            ImageBody((RandomBytes(ImageSpool.MemoryLimitBytes + 1, 31), false, "image/png")))))).Image);
        Assert.True(large.IsFileBacked);
        Assert.Equal(ImageSpool.MemoryLimitBytes + 1, large.Length);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.999)]
    public async Task BodyCutShort_IsNotAResponse_AndDeletesEveryFile(double cutAt)
    {
        var body = Encoding.UTF8.GetBytes(ImageBody((RandomBytes(2 * Mb, 40), true, "image/png"), (RandomBytes(3 * Mb, 41), false, "image/png")));

        await Assert.ThrowsAnyAsync<JsonException>(() => ReadAsync(new TrickleStream(body[..(int)(body.Length * cutAt)], seed: 5, largest: 32 * 1024)));

        Assert.Empty(Directory.GetFiles(_spool));
    }

    [Fact]
    public async Task BodyCutShort_ThroughTheClient_IsRetryableAndLeavesNoFile()
    {
        var body = ImageBody((RandomBytes(3 * Mb, 42), false, "image/png"));

        // Replay asserts that no temporary file is left behind.
        var (outcome, _) = await Replay.RunAsync(200, body[..(body.Length - 100)]);

        Assert.Equal(200, Assert.IsType<GeminiOutcome.Retryable>(outcome).StatusCode);
    }

    [Fact]
    public async Task ALargeImageThroughTheClient_ComesBackWhole()
    {
        var image = RandomBytes(5 * Mb, 43);

        var (outcome, _) = await Replay.RunAsync(200, ImageBody((RandomBytes(2 * Mb, 44), true, "image/png"), (image, false, "image/png")));

        Assert.Equal(image, Assert.IsType<GeminiOutcome.Image>(outcome).Bytes());
    }

    [Fact]
    public async Task CancelledWhileTheImageArrives_DeletesItsFile()
    {
        var body = Encoding.UTF8.GetBytes(ImageBody((RandomBytes(4 * Mb, 50), false, "image/png")));
        var stream = new StallingStream(body, stallAt: body.Length / 2);
        using var cancel = new CancellationTokenSource();

        var reading = GenerateContentReader.ReadAsync(stream, _spool, cancel.Token);
        await stream.Stalled.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Single(Directory.GetFiles(_spool));
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading);
        Assert.Empty(Directory.GetFiles(_spool));
    }

    [Fact]
    public void ThirtyMegabytesOfBase64_AllocateAFractionOfTheImage()
    {
        var image = RandomBytes(30 * Mb / 4 * 3, 60);
        var body = Encoding.UTF8.GetBytes(ImageBody((image, false, "image/png")));
        Assert.True(body.Length > 30 * Mb);

        // The first read warms the buffer pools of this thread; the second is measured. Both complete synchronously on
        // this thread (a MemoryStream never waits), so the thread's allocation counter sees all of the second.
        Read(body).Dispose();
        var before = GC.GetAllocatedBytesForCurrentThread();
        var read = Read(body);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        using (read)
        {
            Assert.Equal(image.Length, read.Length);
            Assert.True(read.IsFileBacked);
        }

        Assert.True(allocated < Mb, $"reading a {image.Length / Mb} MB image allocated {allocated / 1024} KB");
    }

    [Theory]
    [InlineData("""{"candidates":[{"content":{"parts":[{"thought":"yes"}]}}]}""")]
    [InlineData("""{"candidates":[{"content":{"parts":[{"inlineData":{"data":5}}]}}]}""")]
    [InlineData("""{"candidates":[{"content":{"parts":[{"inlineData":{"data":"QQ"}}]}}]}""")]
    [InlineData("""{"candidates":[{"content":{"parts":[{"inlineData":{"data":"QQ==QQ=="}}]}}]}""")]
    [InlineData("""{"candidates":[{"content":{"parts":[{"inlineData":{"data":"QUJD\u00e9"}}]}}]}""")]
    [InlineData("""{"candidates":[{"content":{"parts":[{"text":7}]}}]}""")]
    [InlineData("""{"candidates":{}}""")]
    [InlineData("""{"candidates":[{"finishReason":1}]}""")]
    [InlineData("""{"promptFeedback":[]}""")]
    [InlineData("""[]""")]
    [InlineData("""null""")]
    [InlineData("")]
    [InlineData("""{"candidates":[]} {}""")]
    public async Task BodiesTheFormerDeserializerRejected_AreNotAResponse(string body)
    {
        await Assert.ThrowsAnyAsync<JsonException>(() => ReadAsync(new TrickleStream(Encoding.UTF8.GetBytes(body), seed: 1)));
        Assert.Empty(Directory.GetFiles(_spool));
    }

    [Theory]
    [InlineData("""{"candidates":[{"content":{"parts":[{"inlineData":{"data":null,"mimeType":"image/png"}},{"text":"no"}]},"finishReason":"STOP"}]}""")]
    [InlineData("""{"candidates":[{"content":{"parts":[{"inlineData":{"data":""}},{"text":"a"},{"text":"b","thought":true},{"text":"c"}]}}]}""")]
    [InlineData("""{"candidates":[{"content":{"parts":[{"inlineData":{"data":"QUJD"}, "text":"ignored"}]}}, {"content":{"parts":[{"inlineData":{"data":"REVG"}}]}}]}""")]
    [InlineData("""{"candidates":[null,{"content":{"parts":[{"inlineData":{"data":"REVG"}}]}}],"promptFeedback":{"blockReason":"OTHER"}}""")]
    [InlineData("""{"extra":{"data":"not base64 !","inlineData":{"data":"x"}},"candidates":[{"content":{"parts":[{"inlineData":{"data":"QUJD","data":"REVG"},"functionCall":{"args":{"data":[1,2]}}}]},"safetyRatings":[{"category":"X"}]}]}""")]
    [InlineData("""{"candidates":[{"content":{"parts":[{"inlineData":{"data":"QUJD"}}]}}],"candidates":[{"finishReason":"IMAGE_SAFETY"}]}""")]
    [InlineData("""{"candidates":[{"content":{"parts":[{"inlineData":{"data":"QUJD"}}]},"content":null,"finishReason":"IMAGE_OTHER"}]}""")]
    [InlineData("\uFEFF{\"candidates\":[{\"content\":{\"parts\":[{\"inlineData\":{\"data\":\"QU\\nJD\"}}]}}]}")]
    public async Task UnusualButValidBodies_SayWhatTheFormerDeserializerSaid(string body)
    {
        var expected = FormerRule(body.TrimStart('\uFEFF'));

        var summary = await ReadAsync(new TrickleStream(Encoding.UTF8.GetBytes(body), seed: 2));

        using (summary.Image)
        {
            Assert.Equal(expected, Describe(summary));
        }

        Assert.Empty(Directory.GetFiles(_spool));
    }

    [Theory]
    [InlineData("""{"candidates":[{"content":{"parts":[]}},{"content":{"parts":[{"inlineData":{"data":"QQ"}}]}}]}""")]
    [InlineData("""{"candidates":[{"content":{"parts":[{"inlineData":{"data":"QQ"}}]}}],"candidates":[]}""")]
    [InlineData("""{"candidates":[{"content":{"parts":[{"inlineData":{"data":"QQ"}}],"parts":[]}}]}""")]
    public async Task InvalidBase64_OutsideTheImagesThatCanWin_IsStillNotAResponse(string body)
    {
        await Assert.ThrowsAnyAsync<JsonException>(() => ReadAsync(new TrickleStream(Encoding.UTF8.GetBytes(body), seed: 4)));
        Assert.Empty(Directory.GetFiles(_spool));
    }

    [Fact]
    public async Task UsageMetadata_WithANegativeTokenCount_IsNotAResponse()
    {
        var body = """{"candidates":[{"content":{"parts":[{"text":"no"}]}}],"usageMetadata":{"totalTokenCount":-1}}""";

        await Assert.ThrowsAsync<JsonException>(() => ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(body))));
    }

    [Fact]
    public async Task InvalidUtf8_InADeclaredString_IsNotAResponse_InAnUnknownMember_IsIgnored()
    {
        static byte[] Body(string member) => [.. Encoding.UTF8.GetBytes($$$"""{"candidates":[{"content":{"{{{member}}}":"m"""), 0xC3,
            .. Encoding.UTF8.GetBytes(""" ","parts":[{"inlineData":{"data":"QUJD"}}]}}]}""")];

        await Assert.ThrowsAnyAsync<JsonException>(() => ReadAsync(new MemoryStream(Body("role"))));

        var summary = await ReadAsync(new MemoryStream(Body("unknown")));
        using var image = Assert.IsType<GeneratedImage>(summary.Image);
        Assert.Equal("ABC"u8.ToArray(), image.ReadAll());
    }

    private Task<GenerateContentSummary> ReadAsync(Stream stream) => GenerateContentReader.ReadAsync(stream, _spool, CancellationToken.None);

    private GeneratedImage Read(byte[] body)
    {
        var task = ReadAsync(new MemoryStream(body, writable: false));
        Assert.True(task.IsCompleted);
        return task.Result.Image!;
    }

    private static string Body(string name)
    {
        if (name.StartsWith("fixture:", StringComparison.Ordinal))
        {
            return Fixture.Load(name["fixture:".Length..]).Body;
        }

        var (file, index) = (name["recording:".Length..name.LastIndexOf('#')], int.Parse(name[(name.LastIndexOf('#') + 1)..]));
        return Recording.Load(file).ResponseSegments[index];
    }

    private static string ImageBody(params (byte[] Bytes, bool Thought, string MimeType)[] images)
    {
        var parts = images.Select(image =>
            $$$"""{"inlineData":{"mimeType":"{{{image.MimeType}}}","data":"{{{Convert.ToBase64String(image.Bytes)}}}"}{{{(image.Thought ? ",\"thought\":true" : "")}}}}""");
        return $$$"""{"candidates":[{"content":{"role":"model","parts":[{"text":"Here it is."},{{{string.Join(",", parts)}}}]},"finishReason":"STOP"}],"usageMetadata":{"totalTokenCount":1}}""";
    }

    private static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static bool IsJson(string text)
    {
        try
        {
            using var _ = JsonDocument.Parse(text);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>A comparable account of a summary: the image as base64.</summary>
    private static string Describe(GenerateContentSummary summary) =>
        Describe(summary.HasCandidate, summary.Image is { } image ? Convert.ToBase64String(image.ReadAll()) : null,
            summary.Image?.MimeType, summary.Text, summary.FinishReason, summary.BlockReason);

    private static string Describe(bool hasCandidate, string? image, string? mimeType, string? text, string? finishReason, string? blockReason) =>
        JsonSerializer.Serialize(new { hasCandidate, image, mimeType, text, finishReason, blockReason });

    /// <summary>What the former FromResponse saw in a body deserialized whole (repeated members: the last one wins).</summary>
    private static string FormerRule(string body)
    {
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        var blockReason = Last(root, "promptFeedback") is { ValueKind: JsonValueKind.Object } feedback ? String(Last(feedback, "blockReason")) : null;
        var candidates = Last(root, "candidates");
        if (candidates is not { ValueKind: JsonValueKind.Array } || candidates.Value.GetArrayLength() == 0
            || candidates.Value[0].ValueKind != JsonValueKind.Object)
        {
            return Describe(false, null, null, null, null, blockReason);
        }

        var candidate = candidates.Value[0];
        string? text = null;
        (string Data, string? Mime)? lastImage = null, lastFinal = null;
        if (Last(candidate, "content") is { ValueKind: JsonValueKind.Object } content && Last(content, "parts") is { ValueKind: JsonValueKind.Array } parts)
        {
            foreach (var part in parts.EnumerateArray().Where(p => p.ValueKind == JsonValueKind.Object))
            {
                var blob = Last(part, "inlineData");
                var data = blob is { ValueKind: JsonValueKind.Object } ? Last(blob.Value, "data") : null;
                var bytes = data is { ValueKind: JsonValueKind.String } ? data.Value.GetBytesFromBase64() : null;
                var thought = Last(part, "thought") is { ValueKind: JsonValueKind.True };
                if (bytes is { Length: > 0 })
                {
                    lastImage = (Convert.ToBase64String(bytes), String(Last(blob!.Value, "mimeType")));
                    if (!thought)
                    {
                        lastFinal = lastImage;
                    }
                }
                else if (String(Last(part, "text")) is { Length: > 0 } partText && !thought)
                {
                    text += partText;
                }
            }
        }

        var winner = lastFinal ?? lastImage;
        return Describe(true, winner?.Data, winner is null ? null : winner.Value.Mime ?? "application/octet-stream", text,
            String(Last(candidate, "finishReason")), blockReason);
    }

    private static JsonElement? Last(JsonElement element, string name)
    {
        JsonElement? last = null;
        foreach (var property in element.EnumerateObject().Where(p => p.NameEquals(name)))
        {
            last = property.Value;
        }

        return last;
    }

    private static string? String(JsonElement? element) => element is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;

    /// <summary>Returns 1 to <c>largest</c> bytes per read, the sizes drawn from a seeded generator.</summary>
    private sealed class TrickleStream(byte[] body, int seed, int largest = 7) : MemoryStream(body, writable: false)
    {
        private readonly Random _random = new(seed);

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, _random.Next(1, largest + 1))]);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));
    }

    /// <summary>Returns the body in two reads: up to <c>split</c>, then the rest.</summary>
    private sealed class SplitStream(byte[] body, int split) : MemoryStream(body, writable: false)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var end = Position < split ? split : Length;
            return ValueTask.FromResult(Read(buffer.Span[..(int)Math.Min(buffer.Length, end - Position)]));
        }
    }

    /// <summary>Returns the body up to <c>stallAt</c>, then waits for the reader's cancellation.</summary>
    private sealed class StallingStream(byte[] body, int stallAt) : MemoryStream(body, writable: false)
    {
        private readonly TaskCompletionSource _stalled = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Stalled => _stalled.Task;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (Position >= stallAt)
            {
                _stalled.TrySetResult();
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            return Read(buffer.Span[..(int)Math.Min(buffer.Length, stallAt - Position)]);
        }
    }
}
