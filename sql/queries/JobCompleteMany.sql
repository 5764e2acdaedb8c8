-- Completes many claims in one statement, each with its result and, where @Variants has one, the variant it stored
-- last. Returns the (id, lease token) of each claim completed; a claim whose lease is lost is left as it is. Rows are
-- locked in id order, as a rescue of many rows might be at the same moment.
-- The result gains costUsd: the job's exact Gemini spend over all its attempts (billed and possibly billed), from the
-- cost ledger.
WITH input AS (
    SELECT * FROM unnest(@Ids::text[], @LeaseTokens::uuid[], @Results::text[], @Variants::integer[], @ObjectKeys::text[],
                         @Urls::text[], @ImageIds::text[], @ContentTypes::text[], @SizeBytes::integer[], @OriginalKeys::text[], @OriginalUrls::text[])
        AS i(id, lease_token, result, variant, object_key, url, image_id, content_type, size_bytes, original_key,
             original_url)
), held AS (
    SELECT j.id, i.lease_token FROM generation_job j JOIN input i ON i.id = j.id AND i.lease_token = j.lease_token
    WHERE j.status = 'processing'
    ORDER BY j.id
    FOR UPDATE OF j
), done AS (
    UPDATE generation_job j
    SET status = 'completed',
        result = i.result::jsonb || jsonb_build_object('costUsd', (
            SELECT trim_scale(coalesce(sum(c.cost_micros), 0) / 1000000.0) FROM gemini_cost_ledger c
            WHERE c.job_id = h.id AND c.state IN ('billed', 'possibly_billed'))),
        progress = 100, error = NULL, completed_at = now(),
        lease_token = NULL, lease_expires_at = NULL, updated_at = now()
    FROM held h JOIN input i ON i.id = h.id AND i.lease_token = h.lease_token
    WHERE j.id = h.id
    RETURNING j.id, i.lease_token
), stored AS (
    INSERT INTO generation_job_output (job_id, variant, object_key, url, image_id, content_type, size_bytes, lease_token,
                                       original_key, original_url)
    SELECT i.id, i.variant, i.object_key, i.url, i.image_id, i.content_type, i.size_bytes, i.lease_token, i.original_key,
           i.original_url
    FROM done d JOIN input i ON i.id = d.id AND i.lease_token = d.lease_token
    WHERE i.variant IS NOT NULL
    ON CONFLICT (job_id, variant) DO UPDATE
        SET object_key = excluded.object_key, url = excluded.url, image_id = excluded.image_id,
            content_type = excluded.content_type, size_bytes = excluded.size_bytes, lease_token = excluded.lease_token,
            original_key = excluded.original_key, original_url = excluded.original_url
)
SELECT id, lease_token FROM done;
