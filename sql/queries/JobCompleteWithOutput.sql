-- Completes a claim with its result and records the variant stored last, in one statement. No row: the lease is lost
-- and nothing changed.
WITH done AS (
    UPDATE generation_job
    SET status = 'completed', result = @Result::jsonb, progress = 100, error = NULL, completed_at = now(),
        lease_token = NULL, lease_expires_at = NULL, updated_at = now()
    WHERE id = @Id AND lease_token = @LeaseToken AND status = 'processing'
    RETURNING id
), stored AS (
    INSERT INTO generation_job_output (job_id, variant, object_key, url, image_id, content_type, size_bytes, lease_token)
    SELECT id, @Variant, @ObjectKey, @Url, @ImageId, @ContentType, @SizeBytes, @LeaseToken FROM done
    ON CONFLICT (job_id, variant) DO UPDATE
        SET object_key = excluded.object_key, url = excluded.url, image_id = excluded.image_id,
            content_type = excluded.content_type, size_bytes = excluded.size_bytes, lease_token = excluded.lease_token
)
SELECT id FROM done;
