using Npgsql;

namespace GenerationWorker.TestSupport;

/// <summary>One asset row as the app reads it.</summary>
public sealed record AssetRow(
    string Id, string ClientId, string? FlowId, string AssetUrl, string? OriginalUrl, string AssetType, string Status,
    string? Prompt, string? SettingsJson, string? ProductIdsJson, string? JobId, DateTime? CompletedAt);

/// <summary>
/// The web app's own tables that the service writes beyond <c>generation_job</c> (app-contract.md section 1), created
/// here as the app's migrations create them, with the foreign keys that matter (client, product, flow, collection).
/// </summary>
public sealed class AppSchema(string connectionString)
{
    /// <summary>The app's tables, as the app creates them (timestamps without time zone, holding UTC).</summary>
    public const string Ddl = """
        CREATE TABLE client (id text PRIMARY KEY, name text NOT NULL DEFAULT '');
        CREATE TABLE product (id text PRIMARY KEY, client_id text NOT NULL REFERENCES client (id) ON DELETE CASCADE,
                              name text NOT NULL DEFAULT '');
        CREATE TABLE collection_session (
            id text PRIMARY KEY, client_id text NOT NULL REFERENCES client (id) ON DELETE CASCADE,
            status text NOT NULL DEFAULT 'draft', created_at timestamp NOT NULL DEFAULT now());
        CREATE TABLE generation_flow (
            id text PRIMARY KEY, client_id text NOT NULL REFERENCES client (id) ON DELETE CASCADE,
            collection_session_id text NULL REFERENCES collection_session (id) ON DELETE SET NULL,
            created_at timestamp NOT NULL DEFAULT now());
        CREATE TABLE generated_asset (
            id text PRIMARY KEY,
            client_id text NOT NULL REFERENCES client (id) ON DELETE CASCADE,
            generation_flow_id text NULL REFERENCES generation_flow (id) ON DELETE SET NULL,
            chat_session_id text NULL,
            asset_url text NOT NULL,
            original_asset_url text NULL,
            asset_type text NOT NULL DEFAULT 'image',
            status text NOT NULL DEFAULT 'pending',
            prompt text NULL,
            settings jsonb NULL,
            product_ids jsonb NULL,
            job_id text NULL,
            error text NULL,
            asset_analysis jsonb NULL,
            approval_status text NOT NULL DEFAULT 'pending',
            pinned boolean NOT NULL DEFAULT false,
            created_at timestamp NOT NULL DEFAULT now(),
            updated_at timestamp NOT NULL DEFAULT now(),
            completed_at timestamp NULL,
            deleted_at timestamp NULL);
        CREATE TABLE generated_asset_product (
            id text PRIMARY KEY,
            generated_asset_id text NOT NULL REFERENCES generated_asset (id) ON DELETE CASCADE,
            product_id text NOT NULL REFERENCES product (id) ON DELETE CASCADE,
            is_primary boolean NOT NULL DEFAULT false,
            created_at timestamp NOT NULL DEFAULT now());
        """;

    /// <summary>Creates the app's tables.</summary>
    public Task CreateAsync() => ExecuteAsync(Ddl);

    /// <summary>The app's cost table (app-contract.md section 6), as the app creates it.</summary>
    public const string CostTrackingDdl = """
        CREATE TABLE ai_cost_tracking (
            id text PRIMARY KEY, client_id text NOT NULL, user_id text NULL, request_id text, job_id text,
            operation_type text NOT NULL, model text NOT NULL, provider text NOT NULL DEFAULT 'google-gemini',
            cost_usd_cents integer NOT NULL, input_tokens int, output_tokens int, image_count int,
            video_duration_seconds int, metadata jsonb, success integer NOT NULL DEFAULT 1, error_message text,
            duration_ms int, created_at timestamp NOT NULL DEFAULT now());
        """;

    /// <summary>Creates the app's <c>ai_cost_tracking</c>.</summary>
    public Task CreateCostTrackingAsync() => ExecuteAsync(CostTrackingDdl);

    /// <summary>Inserts a client with <paramref name="products"/>.</summary>
    public async Task AddClientAsync(string clientId, params string[] products)
    {
        await ExecuteAsync("INSERT INTO client (id) VALUES (@p0) ON CONFLICT DO NOTHING", clientId);
        foreach (var product in products)
        {
            await ExecuteAsync("INSERT INTO product (id, client_id) VALUES (@p0, @p1)", product, clientId);
        }
    }

    /// <summary>Inserts a collection with <paramref name="flows"/>, status generating as the app sets it on enqueue.</summary>
    public async Task AddCollectionAsync(string clientId, string collectionId, params string[] flows)
    {
        await ExecuteAsync("INSERT INTO collection_session (id, client_id, status) VALUES (@p0, @p1, 'generating')", collectionId, clientId);
        foreach (var flow in flows)
        {
            await ExecuteAsync("INSERT INTO generation_flow (id, client_id, collection_session_id) VALUES (@p0, @p1, @p2)", flow, clientId, collectionId);
        }
    }

    /// <summary>Inserts a flow of no collection.</summary>
    public Task AddFlowAsync(string clientId, string flowId) =>
        ExecuteAsync("INSERT INTO generation_flow (id, client_id) VALUES (@p0, @p1)", flowId, clientId);

    /// <summary>Inserts a placeholder for a job's image, as the app does before the job runs.</summary>
    public Task AddPlaceholderAsync(string assetId, string clientId, string jobId, string? flowId = null) =>
        ExecuteAsync(
            "INSERT INTO generated_asset (id, client_id, generation_flow_id, asset_url, job_id) VALUES (@p0, @p1, @p2, '', @p3)",
            assetId, clientId, (object?)flowId ?? DBNull.Value, jobId);

    /// <summary>The asset rows of a job, by id.</summary>
    public async Task<IReadOnlyList<AssetRow>> AssetsAsync(string jobId)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT id, client_id, generation_flow_id, asset_url, original_asset_url, asset_type, status, prompt,
                   settings::text, product_ids::text, job_id, completed_at
            FROM generated_asset WHERE job_id = @p0 ORDER BY id
            """, connection);
        command.Parameters.AddWithValue("p0", jobId);
        var rows = new List<AssetRow>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(new AssetRow(
                reader.GetString(0), reader.GetString(1), Text(reader, 2), reader.GetString(3), Text(reader, 4),
                reader.GetString(5), reader.GetString(6), Text(reader, 7), Text(reader, 8), Text(reader, 9), Text(reader, 10),
                reader.IsDBNull(11) ? null : reader.GetDateTime(11)));
        }

        return rows;
    }

    /// <summary>The (asset id, product id, primary) links of the given assets.</summary>
    public async Task<IReadOnlyList<(string AssetId, string ProductId, bool Primary)>> LinksAsync(IEnumerable<string> assetIds)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT generated_asset_id, product_id, is_primary FROM generated_asset_product WHERE generated_asset_id = ANY(@p0) ORDER BY 1, 2",
            connection);
        command.Parameters.AddWithValue("p0", assetIds.ToArray());
        var links = new List<(string, string, bool)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            links.Add((reader.GetString(0), reader.GetString(1), reader.GetBoolean(2)));
        }

        return links;
    }

    /// <summary>A collection's status.</summary>
    public async Task<string> CollectionStatusAsync(string collectionId)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT status FROM collection_session WHERE id = @p0", connection);
        command.Parameters.AddWithValue("p0", collectionId);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Runs a statement with positional parameters @p0, @p1...</summary>
    public async Task ExecuteAsync(string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        for (var i = 0; i < parameters.Length; i++)
        {
            command.Parameters.AddWithValue("p" + i, parameters[i]);
        }

        await command.ExecuteNonQueryAsync();
    }

    private static string? Text(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}
