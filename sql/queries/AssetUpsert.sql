-- Writes a job's assets as completed, inside the completion's transaction (after the fenced completion): a placeholder
-- of the job (or a row of an earlier, rolled back or rescued attempt) is completed in place, any other id is inserted.
-- A flow the app deleted is written as NULL. Timestamps are UTC wall-clock time, as the app's columns hold them.
INSERT INTO generated_asset (id, client_id, generation_flow_id, asset_url, original_asset_url, asset_type, status, prompt,
                             settings, product_ids, job_id, completed_at, updated_at)
SELECT a.id, @ClientId, (SELECT f.id FROM generation_flow f WHERE f.id = @FlowId), a.asset_url, a.original_asset_url,
       @AssetType, 'completed', @Prompt, @Settings::jsonb, @ProductIds::jsonb, @JobId,
       now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
FROM unnest(@Ids::text[], @AssetUrls::text[], @OriginalUrls::text[]) AS a(id, asset_url, original_asset_url)
ON CONFLICT (id) DO UPDATE
    SET asset_url = excluded.asset_url, original_asset_url = excluded.original_asset_url, asset_type = excluded.asset_type,
        status = 'completed', prompt = excluded.prompt, settings = excluded.settings,
        product_ids = excluded.product_ids, job_id = excluded.job_id,
        generation_flow_id = excluded.generation_flow_id,
        completed_at = excluded.completed_at, updated_at = excluded.updated_at;
