using GenerationWorker.Grains.Storage;

namespace GenerationWorker.Grains.Tests.Storage;

/// <summary>Storage keys as the service makes them, for store tests.</summary>
internal static class TestKeys
{
    /// <summary>The key of asset <c>asset_{n}</c> of a job with no flow or session, with the extension of <paramref name="contentType"/>.</summary>
    public static string For(string clientId, string group, int n, string contentType) =>
        ObjectKeys.ForAsset(ObjectKeys.AssetFolder(clientId, group, null), $"asset_{n}", ObjectKeys.ExtensionFor(contentType));
}
