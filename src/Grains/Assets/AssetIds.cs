using System.Security.Cryptography;
using System.Text;

namespace GenerationWorker.Grains.Assets;

/// <summary>
/// Chooses the asset id of each of a job's images BEFORE it is uploaded: the id is in its storage key, in
/// <c>result.imageIds</c> and on its asset row, and a retry of the job chooses the same one.
/// </summary>
public static class AssetIds
{
    /// <summary>The id the service gives variant <paramref name="variant"/> of a job that has no placeholder for it.</summary>
    public static string ForVariant(string jobId, int variant)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(variant);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{jobId}/{variant}"));
        return "asset_" + Convert.ToHexStringLower(hash, 0, 12);
    }

    /// <summary>
    /// The ids of the variants still missing: the app's placeholders first, in their order, skipping those earlier
    /// attempts already stored variants under, then the service's own ids.
    /// </summary>
    /// <param name="jobId">The job.</param>
    /// <param name="missing">The variants still to make, in order.</param>
    /// <param name="placeholders">The job's placeholders, in the order they are completed.</param>
    /// <param name="used">The ids of the variants already stored.</param>
    public static IReadOnlyDictionary<int, string> Assign(
        string jobId, IReadOnlyList<int> missing, IReadOnlyList<string> placeholders, IReadOnlyCollection<string> used)
    {
        var free = new Queue<string>(placeholders.Where(id => !used.Contains(id)));
        var ids = new Dictionary<int, string>(missing.Count);
        foreach (var variant in missing)
        {
            ids[variant] = free.TryDequeue(out var placeholder) ? placeholder : ForVariant(jobId, variant);
        }

        return ids;
    }
}
