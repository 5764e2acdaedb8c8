-- The placeholders the app inserted for a job's images (status pending, no URL yet), in the order they are completed.
SELECT id FROM generated_asset
WHERE job_id = @JobId AND status = 'pending'
ORDER BY created_at, id;
