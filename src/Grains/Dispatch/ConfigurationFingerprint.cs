using System.Security.Cryptography;
using System.Text;
using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Storage;

namespace GenerationWorker.Grains.Dispatch;

/// <summary>
/// Identifies the outside services this silo uses: its Gemini key and endpoint and its image store. A stop of the
/// service (<see cref="Interfaces.ServiceStop"/>) applies to the silos whose fingerprint is the same.
/// </summary>
/// <remarks>
/// A hash (16 hex digits of SHA-256), never the settings themselves: it holds the key and the store's secret. Fixing a
/// refused variable changes it, so a silo deployed with the fix is not stopped by the old silos' stop.
/// </remarks>
/// <param name="Value">The fingerprint.</param>
public sealed record ConfigurationFingerprint(string Value)
{
    /// <summary>The fingerprint of <paramref name="gemini"/> and <paramref name="storage"/>.</summary>
    public static ConfigurationFingerprint Of(GeminiOptions gemini, StorageOptions storage)
    {
        var store = storage.Kind == StorageKind.Local ? storage.LocalDirectory : storage.ResolvedEndpoint.ToString();
        string[] settings =
            [gemini.ApiKey, gemini.BaseUrl.ToString(), storage.Kind.ToString(), store, storage.Bucket, storage.AccessKeyId, storage.SecretAccessKey];
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\0', settings)));
        return new ConfigurationFingerprint(Convert.ToHexStringLower(hash.AsSpan(0, 8)));
    }
}
