using GenerationWorker.Grains.Dispatch;
using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Storage;

namespace GenerationWorker.Grains.Tests.Dispatch;

public sealed class ConfigurationFingerprintTests
{
    private static readonly GeminiOptions Gemini = new() { ApiKey = "AIza-secret-key" };
    private static readonly StorageOptions Storage = new()
    {
        Endpoint = new Uri("https://s3.example.test"), Bucket = "images", AccessKeyId = "key-id", SecretAccessKey = "store-secret",
    };

    [Fact]
    public void TheSameSettings_GiveTheSameFingerprint_WhichShowsNoSecret()
    {
        var fingerprint = ConfigurationFingerprint.Of(Gemini, Storage).Value;

        Assert.Equal(fingerprint, ConfigurationFingerprint.Of(new GeminiOptions { ApiKey = "AIza-secret-key" }, Storage).Value);
        Assert.Matches("^[0-9a-f]{16}$", fingerprint);
    }

    [Fact]
    public void AFixedKeyOrStoreSetting_GivesAnotherFingerprint()
    {
        var fingerprint = ConfigurationFingerprint.Of(Gemini, Storage).Value;

        Assert.NotEqual(fingerprint, ConfigurationFingerprint.Of(new GeminiOptions { ApiKey = "AIza-new-key" }, Storage).Value);
        Assert.NotEqual(fingerprint, ConfigurationFingerprint.Of(Gemini, Clone(Storage, s => s.Bucket = "images-2")).Value);
        Assert.NotEqual(fingerprint, ConfigurationFingerprint.Of(Gemini, Clone(Storage, s => s.SecretAccessKey = "rotated")).Value);
    }

    private static StorageOptions Clone(StorageOptions options, Action<StorageOptions> change)
    {
        var copy = new StorageOptions
        {
            Endpoint = options.Endpoint, Bucket = options.Bucket, AccessKeyId = options.AccessKeyId, SecretAccessKey = options.SecretAccessKey,
        };
        change(copy);
        return copy;
    }
}
