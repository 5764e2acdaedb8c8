using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace GenerationWorker.Grains.Postgres;

/// <summary>The app's asset rows a job's completion writes (<c>generated_asset</c>, <c>generated_asset_product</c>).</summary>
/// <param name="ClientId">The job's client.</param>
/// <param name="FlowId">The job's flow, or null; written as NULL when the flow row is gone.</param>
/// <param name="JobId">The job.</param>
/// <param name="AssetType"><c>image</c> or <c>video</c>.</param>
/// <param name="Prompt">The generation or edit prompt.</param>
/// <param name="SettingsJson">The <c>settings</c> JSON of every row.</param>
/// <param name="ProductIds">The products linked to every asset, the first one primary.</param>
/// <param name="Files">One row per stored file.</param>
public sealed record AssetWrite(
    string ClientId, string? FlowId, string JobId, string AssetType, string Prompt, string SettingsJson,
    IReadOnlyList<string> ProductIds, IReadOnlyList<AssetFile> Files);

/// <summary>One asset row: its id (the id in its storage key) and its public URLs.</summary>
/// <param name="Id">The asset id: a placeholder's, or one the service chose.</param>
/// <param name="Url">The display file's public URL (<c>asset_url</c>).</param>
/// <param name="OriginalUrl">The original's public URL (<c>original_asset_url</c>), or null.</param>
public sealed record AssetFile(string Id, string Url, string? OriginalUrl);

/// <summary>What a completion with assets wrote.</summary>
/// <param name="MissingProducts">Product ids that were not linked because their product row is gone.</param>
/// <param name="CollectionId">The collection this completion marked completed, or null.</param>
public sealed record AssetCompletion(IReadOnlyList<string> MissingProducts, string? CollectionId);

/// <summary>
/// The web app's own tables, which the app creates and migrates: whether they exist, the placeholders of a job, and the
/// completion that writes a job's asset rows, product links and collection status together with the job's row.
/// </summary>
public sealed class AppAssetStore(NpgsqlDataSource dataSource)
{
    /// <summary>True when the app's asset tables exist in the database.</summary>
    public async Task<bool> TablesPresentAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("AppTablesPresent"));
        return await command.ExecuteScalarAsync(cancellationToken) is true;
    }

    /// <summary>True when the app's cost table (<c>ai_cost_tracking</c>) exists in the database.</summary>
    public async Task<bool> CostTablePresentAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("AppCostTablePresent"));
        return await command.ExecuteScalarAsync(cancellationToken) is true;
    }

    /// <summary>The ids of the placeholders the app inserted for a job, in the order they are completed.</summary>
    public async Task<IReadOnlyList<string>> PlaceholdersAsync(string jobId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SqlQueries.Get("AssetPlaceholders"));
        command.Parameters.AddWithValue("JobId", jobId);
        var ids = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    /// <summary>
    /// Completes a claim and writes its assets in ONE transaction: the fenced completion first (nothing is written when
    /// the lease is lost), then the asset rows, the product links, and the collection's status.
    /// </summary>
    /// <returns>What was written, or null when the lease is lost and nothing was.</returns>
    public async Task<AssetCompletion?> CompleteAsync(JobCompletion completion, CancellationToken cancellationToken)
    {
        var assets = completion.Assets ?? throw new ArgumentException("The completion has no assets.", nameof(completion));
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if ((await JobStore.CompleteManyAsync(connection, [completion], cancellationToken)).Count == 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            return null;
        }

        await using (var upsert = new NpgsqlCommand(SqlQueries.Get("AssetUpsert"), connection, transaction))
        {
            upsert.Parameters.AddWithValue("ClientId", assets.ClientId);
            upsert.Parameters.Add(new NpgsqlParameter("FlowId", NpgsqlDbType.Text) { Value = (object?)assets.FlowId ?? DBNull.Value });
            upsert.Parameters.AddWithValue("AssetType", assets.AssetType);
            upsert.Parameters.AddWithValue("Prompt", assets.Prompt);
            upsert.Parameters.AddWithValue("Settings", assets.SettingsJson);
            upsert.Parameters.AddWithValue("ProductIds", JsonSerializer.Serialize(assets.ProductIds));
            upsert.Parameters.AddWithValue("JobId", assets.JobId);
            upsert.Parameters.AddWithValue("Ids", assets.Files.Select(f => f.Id).ToArray());
            upsert.Parameters.AddWithValue("AssetUrls", assets.Files.Select(f => f.Url).ToArray());
            upsert.Parameters.AddWithValue("OriginalUrls", assets.Files.Select(f => f.OriginalUrl).ToArray());
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }

        var missing = new List<string>();
        if (assets.ProductIds.Count > 0)
        {
            await using var link = new NpgsqlCommand(SqlQueries.Get("AssetLinkProducts"), connection, transaction);
            link.Parameters.AddWithValue("ProductIds", assets.ProductIds.ToArray());
            link.Parameters.AddWithValue("AssetIds", assets.Files.Select(f => f.Id).ToArray());
            await using var reader = await link.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                missing.Add(reader.GetString(0));
            }
        }

        string? collection = null;
        if (assets.FlowId is { } flowId)
        {
            await using var lockCollection = new NpgsqlCommand(SqlQueries.Get("CollectionLock"), connection, transaction);
            lockCollection.Parameters.AddWithValue("FlowId", flowId);
            if (await lockCollection.ExecuteScalarAsync(cancellationToken) is string collectionId)
            {
                await using var complete = new NpgsqlCommand(SqlQueries.Get("CollectionComplete"), connection, transaction);
                complete.Parameters.AddWithValue("CollectionId", collectionId);
                collection = await complete.ExecuteScalarAsync(cancellationToken) as string;
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return new AssetCompletion(missing, collection);
    }
}
