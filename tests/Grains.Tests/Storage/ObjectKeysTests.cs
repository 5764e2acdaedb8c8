using GenerationWorker.Grains.Storage;

namespace GenerationWorker.Grains.Tests.Storage;

public sealed class ObjectKeysTests
{
    [Fact]
    public void ForVariant_PlainIds_GivesGenerationsClientJobIndexExtension()
    {
        Assert.Equal("generations/client_42/job_abc-123/0.png", ObjectKeys.ForVariant("client_42", "job_abc-123", 0, "image/png"));
        Assert.Equal("generations/3f2504e0-4f89-11d3-9a0c-0305e82c3301/job_x/3.jpg",
            ObjectKeys.ForVariant("3f2504e0-4f89-11d3-9a0c-0305e82c3301", "job_x", 3, "image/jpeg"));
    }

    [Theory]
    [InlineData("image/png", "png")]
    [InlineData("image/jpeg", "jpg")]
    [InlineData("IMAGE/JPEG", "jpg")]
    [InlineData("image/jpeg; charset=binary", "jpg")]
    [InlineData("image/webp", "webp")]
    [InlineData("image/gif", "gif")]
    [InlineData("image/tiff", "bin")]
    [InlineData("application/octet-stream", "bin")]
    [InlineData("", "bin")]
    public void ExtensionFor_MapsMimeTypes(string contentType, string extension) =>
        Assert.Equal(extension, ObjectKeys.ExtensionFor(contentType));

    [Theory]
    [InlineData("generations/c/j/0.png", "image/png")]
    [InlineData("generations/c/j/0.jpg", "image/jpeg")]
    [InlineData("x.jpeg", "image/jpeg")]
    [InlineData("x.WEBP", "image/webp")]
    [InlineData("x.gif", "image/gif")]
    [InlineData("x.bin", "application/octet-stream")]
    [InlineData("x", "application/octet-stream")]
    public void ContentTypeFor_MapsExtensionsBack(string key, string contentType) =>
        Assert.Equal(contentType, ObjectKeys.ContentTypeFor(key));

    [Theory]
    [InlineData("a/b", "a%2Fb")]
    [InlineData("..", "%2E%2E")]
    [InlineData(".", "%2E")]
    [InlineData("a b", "a%20b")]
    [InlineData("é", "%C3%A9")]
    [InlineData("😀", "%F0%9F%98%80")]
    [InlineData("100%", "100%25")]
    [InlineData("a\\b", "a%5Cb")]
    [InlineData("a?b#c", "a%3Fb%23c")]
    [InlineData("Job_9-x", "Job_9-x")]
    public void EscapeSegment_EncodesEverythingButLettersDigitsDashUnderscore(string id, string expected) =>
        Assert.Equal(expected, ObjectKeys.EscapeSegment(id));

    [Theory]
    [InlineData("../..", "../../etc/passwd")]
    [InlineData("/abs", "/root")]
    [InlineData("tenant a/b", "job 1/../2")]
    [InlineData("ü", "ü")]
    public void ForVariant_HostileIds_StayOneSegmentEachAndAreStable(string clientId, string jobId)
    {
        var key = ObjectKeys.ForVariant(clientId, jobId, 1, "image/webp");

        Assert.Equal(key, ObjectKeys.ForVariant(clientId, jobId, 1, "image/webp"));
        var segments = key.Split('/');
        Assert.Equal(4, segments.Length);
        Assert.Equal("generations", segments[0]);
        Assert.Equal("1.webp", segments[3]);
        Assert.All(segments, s => Assert.DoesNotContain(s, new[] { "", ".", ".." }));
        Assert.All(segments[1..3], s => Assert.Matches("^[A-Za-z0-9_%-]+$", s));
    }

    [Fact]
    public void ForVariant_DifferentIds_NeverShareAKey()
    {
        var ids = new[] { "a/b", "a%2Fb", "a b", "a%20b", "a+b", "ab", "a.b", "a%2Eb", "é", "e\u0301" };

        var keys = ids.Select(id => ObjectKeys.ForVariant(id, "job", 0, "image/png")).ToList();

        Assert.Equal(ids.Length, keys.Distinct().Count());
        Assert.NotEqual(ObjectKeys.ForVariant("a", "b/c", 0, "image/png"), ObjectKeys.ForVariant("a/b", "c", 0, "image/png"));
    }

    [Fact]
    public void ForVariant_InvalidInput_IsRefused()
    {
        Assert.Throws<ArgumentException>(() => ObjectKeys.ForVariant("", "job", 0, "image/png"));
        Assert.Throws<ArgumentException>(() => ObjectKeys.ForVariant("client", "", 0, "image/png"));
        Assert.Throws<ArgumentException>(() => ObjectKeys.ForVariant("bad\ud800", "job", 0, "image/png"));
        Assert.Throws<ArgumentOutOfRangeException>(() => ObjectKeys.ForVariant("client", "job", -1, "image/png"));
        Assert.Throws<ArgumentException>(() => ObjectKeys.ForVariant("client", new string('x', 1000), 0, "image/png"));
    }

    [Fact]
    public void PublicUrl_JoinsBaseAndKey_EscapingWhatTheKeyEncoded()
    {
        Assert.Equal("https://cdn.example.test/generations/c/j/0.png", ObjectKeys.PublicUrl("https://cdn.example.test/", "generations/c/j/0.png"));
        Assert.Equal("https://cdn.example.test/generations/c/j/0.png", ObjectKeys.PublicUrl("https://cdn.example.test", "generations/c/j/0.png"));

        var key = ObjectKeys.ForVariant("a/b", "j", 0, "image/png");
        var url = new Uri(ObjectKeys.PublicUrl("https://cdn.example.test/images", key));

        Assert.Equal("/images/generations/a%252Fb/j/0.png", url.AbsolutePath);
        Assert.Equal("/images/" + key, Uri.UnescapeDataString(url.AbsolutePath));
    }
}
