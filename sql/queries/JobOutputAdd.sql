-- Records a stored variant and the job's progress, only while @LeaseToken still holds the job. Returns the progress,
-- or no row when the lease is lost.
WITH held AS (
    SELECT id FROM generation_job
    WHERE id = @Id AND lease_token = @LeaseToken AND status = 'processing'
    FOR UPDATE
), stored AS (
    INSERT INTO generation_job_output (job_id, variant, object_key, url, image_id, content_type, size_bytes, lease_token,
                                       original_key, original_url)
    SELECT id, @Variant, @ObjectKey, @Url, @ImageId, @ContentType, @SizeBytes, @LeaseToken, @OriginalKey, @OriginalUrl
    FROM held
    ON CONFLICT (job_id, variant) DO UPDATE
        SET object_key = excluded.object_key, url = excluded.url, image_id = excluded.image_id,
            content_type = excluded.content_type, size_bytes = excluded.size_bytes, lease_token = excluded.lease_token,
            original_key = excluded.original_key, original_url = excluded.original_url
    RETURNING job_id
)
UPDATE generation_job j
SET progress = greatest(j.progress, @Progress), updated_at = now()
FROM stored s
WHERE j.id = s.job_id
RETURNING j.progress;
