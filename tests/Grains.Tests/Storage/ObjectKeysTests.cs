using GenerationWorker.Grains.Storage;

namespace GenerationWorker.Grains.Tests.Storage;

public sealed class ObjectKeysTests
{
    [Fact]
    public void AssetKeys_AreTheAppsLayout()
    {
        var folder = ObjectKeys.AssetFolder("client_42", "flow_1", "session_9");

        Assert.Equal("clients/client_42/generations/flow_1/assets", folder);
        Assert.Equal("clients/client_42/generations/flow_1/assets/asset_abc.webp", ObjectKeys.ForAsset(folder, "asset_abc", "webp"));
        Assert.Equal("clients/client_42/generations/flow_1/assets/asset_abc_original.png", ObjectKeys.ForOriginal(folder, "asset_abc"));
        Assert.Equal("clients/client_42/generations/session_9/assets", ObjectKeys.AssetFolder("client_42", null, "session_9"));
        Assert.Equal("clients/client_42/generations/adhoc/assets", ObjectKeys.AssetFolder("client_42", null, null));
        Assert.Equal("clients/client_42/generations/adhoc/assets", ObjectKeys.AssetFolder("client_42", "", ""));
    }

    [Theory]
    [InlineData("tmp/edit-sessions/client_1/session_2/", "tmp/edit-sessions/client_1/session_2/rev_u1.webp")]
    [InlineData("tmp/edit-sessions/client_1/session_2", "tmp/edit-sessions/client_1/session_2/rev_u1.webp")]
    [InlineData("tmp/edit-sessions/client_1/", "tmp/edit-sessions/client_1/rev_u1.webp")]
    [InlineData("tmp/edit-sessions/client_2/session_2/", null)]
    [InlineData("tmp/edit-sessions/", null)]
    [InlineData("tmp/edit-sessions/client_1/../client_2/", null)]
    [InlineData("tmp/edit-sessions/client_1//x/", null)]
    [InlineData("/tmp/edit-sessions/client_1/", null)]
    [InlineData("clients/client_1/", null)]
    [InlineData("tmp/edit-sessions/client_1/a b/", null)]
    public void ForEditPreview_OnlyUnderTheClientsEditSessions(string prefix, string? expected) =>
        Assert.Equal(expected, ObjectKeys.ForEditPreview(prefix, "client_1", "u1"));

    [Theory]
    [InlineData("image/png", "png")]
    [InlineData("image/jpeg", "jpg")]
    [InlineData("IMAGE/JPEG", "jpg")]
    [InlineData("image/jpeg; charset=binary", "jpg")]
    [InlineData("image/webp", "webp")]
    [InlineData("image/gif", "gif")]
    [InlineData("video/mp4", "mp4")]
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
    public void AssetKeys_HostileIds_StayOneSegmentEachAndAreStable(string clientId, string assetId)
    {
        var key = ObjectKeys.ForAsset(ObjectKeys.AssetFolder(clientId, assetId, null), assetId, "webp");

        Assert.Equal(key, ObjectKeys.ForAsset(ObjectKeys.AssetFolder(clientId, assetId, null), assetId, "webp"));
        var segments = key.Split('/');
        Assert.Equal(6, segments.Length);
        Assert.Equal(["clients", "generations", "assets"], [segments[0], segments[2], segments[4]]);
        Assert.EndsWith(".webp", segments[5]);
        Assert.All(segments, s => Assert.DoesNotContain(s, new[] { "", ".", ".." }));
        Assert.All([segments[1], segments[3], segments[5][..^5]], s => Assert.Matches("^[A-Za-z0-9_%-]+$", s));
    }

    [Fact]
    public void AssetKeys_DifferentIds_NeverShareAKey()
    {
        var ids = new[] { "a/b", "a%2Fb", "a b", "a%20b", "a+b", "ab", "a.b", "a%2Eb", "é", "e\u0301" };

        var keys = ids.Select(id => ObjectKeys.ForOriginal(ObjectKeys.AssetFolder(id, null, null), "asset")).ToList();

        Assert.Equal(ids.Length, keys.Distinct().Count());
        Assert.NotEqual(
            ObjectKeys.ForAsset(ObjectKeys.AssetFolder("a", "b/c", null), "x", "webp"),
            ObjectKeys.ForAsset(ObjectKeys.AssetFolder("a/b", "c", null), "x", "webp"));
    }

    [Fact]
    public void AssetKeys_InvalidInput_IsRefused()
    {
        Assert.Throws<ArgumentException>(() => ObjectKeys.AssetFolder("", null, null));
        Assert.Throws<ArgumentException>(() => ObjectKeys.AssetFolder("bad\ud800", null, null));
        Assert.Throws<ArgumentException>(() => ObjectKeys.ForAsset("clients/c/generations/adhoc/assets", "", "webp"));
        Assert.Throws<ArgumentException>(() => ObjectKeys.ForOriginal("clients/c/generations/adhoc/assets", new string('x', 1100)));
    }

    [Fact]
    public void PublicUrl_JoinsBaseAndKey_EscapingWhatTheKeyEncoded()
    {
        Assert.Equal("https://cdn.example.test/generations/c/j/0.png", ObjectKeys.PublicUrl("https://cdn.example.test/", "generations/c/j/0.png"));
        Assert.Equal("https://cdn.example.test/generations/c/j/0.png", ObjectKeys.PublicUrl("https://cdn.example.test", "generations/c/j/0.png"));

        var key = ObjectKeys.ForOriginal(ObjectKeys.AssetFolder("a/b", null, null), "j");
        var url = new Uri(ObjectKeys.PublicUrl("https://cdn.example.test/images", key));

        Assert.Equal("/images/clients/a%252Fb/generations/adhoc/assets/j_original.png", url.AbsolutePath);
        Assert.Equal("/images/" + key, Uri.UnescapeDataString(url.AbsolutePath));
    }
}
