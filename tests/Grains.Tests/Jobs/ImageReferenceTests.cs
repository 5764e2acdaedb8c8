using GenerationWorker.Grains.Images;
using GenerationWorker.Grains.Jobs;
using GenerationWorker.TestSupport;

namespace GenerationWorker.Grains.Tests.Jobs;

public sealed class ImageReferenceTests
{
    private static readonly string PngDataUrl = "data:image/png;base64," + Convert.ToBase64String(ReferenceImageServer.TinyPng);

    [Theory]
    [InlineData("https://cdn.example.com/p/1.png?sig=abc")]
    [InlineData("http://cdn.example.com/p/1.png")]
    public void HttpUrls_AreRemote(string text)
    {
        Assert.True(ImageReference.TryParse(text, out var reference, out var error), error);
        Assert.Equal(new Uri(text), Assert.IsType<ImageReference.Remote>(reference).Url);
    }

    [Fact]
    public void ADataUrlOfAnImage_IsDecodedToItsBytes_WithTheTypeTheBytesShow()
    {
        // Declared JPEG, but the bytes are a PNG: the bytes decide, as for a download.
        var text = "data:image/jpeg;name=a.jpg;BASE64," + Convert.ToBase64String(ReferenceImageServer.TinyPng);

        Assert.True(ImageReference.TryParse(text, out var reference, out var error), error);

        var inline = Assert.IsType<ImageReference.Inline>(reference);
        Assert.Equal(ReferenceImageServer.TinyPng, inline.Bytes);
        Assert.Equal("image/png", inline.MimeType);
        Assert.DoesNotContain("iVBOR", inline.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/api/images/abc.png")]
    [InlineData("/api/files?key=clients/1/a.png")]
    public void APathWithOneLeadingSlash_IsAppRelative(string text)
    {
        Assert.True(ImageReference.TryParse(text, out var reference, out var error), error);
        Assert.Equal(text, Assert.IsType<ImageReference.AppRelative>(reference).Path);
    }

    [Theory]
    [InlineData("javascript:alert(1)", "must be an http(s) URL")]
    [InlineData("file:///etc/passwd", "must be an http(s) URL")]
    [InlineData("ftp://files.example.com/a.png", "must be an http(s) URL")]
    [InlineData("//evil.example.com/a.png", "single '/'")]
    [InlineData("/\\evil.example.com/a.png", "single '/'")]
    [InlineData("images/a.png", "must be an http(s) URL")]
    [InlineData("data:text/plain;base64,aGVsbG8=", "not of an image")]
    [InlineData("data:image/svg+xml,<svg/>", "not base64-encoded")]
    [InlineData("data:image/png;base64,!!!not base64!!!", "malformed")]
    [InlineData("data:image/png;base64,aGVsbG8gd29ybGQ=", "not an image")]
    [InlineData("data:image/png;base64", "without data")]
    public void AnythingElse_IsRefusedWithAReason(string text, string reason)
    {
        Assert.False(ImageReference.TryParse(text, out var reference, out var error));
        Assert.Null(reference);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void AnInlineImageOverTheLimit_IsRefused_BeforeOrAfterDecoding()
    {
        // The limit is the tiny PNG's size: one byte more is refused once decoded, 4 KB of base64 before decoding.
        var limit = ReferenceImageServer.TinyPng.Length;
        var png = ReferenceImageServer.TinyPng.Append((byte)0).ToArray();
        Assert.False(ImageReference.TryParse("data:image/png;base64," + Convert.ToBase64String(png), limit, out _, out var decoded));
        Assert.False(ImageReference.TryParse("data:image/png;base64," + new string('A', 4096), limit, out _, out var encoded));

        Assert.Contains("larger than", decoded, StringComparison.Ordinal);
        Assert.Contains("larger than", encoded, StringComparison.Ordinal);
        Assert.True(ImageReference.TryParse(PngDataUrl, limit, out _, out var error), error);
    }

    [Fact]
    public void GenerationRequest_AcceptsEachKind_InPayloadOrder()
    {
        var payload = $$"""
            { "prompt": "x", "productImageUrls": ["https://cdn.example.com/a.png", "{{PngDataUrl}}"],
              "inspirationImageUrl": "/api/inspiration/1.png" }
            """;

        var parsed = GenerationRequest.Parse(payload, out var error);

        Assert.Null(error);
        Assert.Collection(
            parsed!.ProductImages.Concat(parsed.InspirationImages),
            first => Assert.IsType<ImageReference.Remote>(first),
            second => Assert.IsType<ImageReference.Inline>(second),
            third => Assert.Equal("/api/inspiration/1.png", Assert.IsType<ImageReference.AppRelative>(third).Path));
    }

    [Fact]
    public void EditRequest_RefusesABadDataUrl_WithoutEchoingItsData()
    {
        var payload = """{ "sourceImageUrl": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "editPrompt": "x" }""";

        Assert.Null(EditRequest.Parse(payload, out var error));

        Assert.Equal("invalid payload: 'sourceImageUrl' is a data URL of text/html, not of an image", error);
    }
}
