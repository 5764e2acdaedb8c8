-- The newest @Limit jobs, of status @Status when it is not NULL.
SELECT id, type, status, progress, attempts, max_attempts, created_at, error
FROM generation_job
WHERE @Status::text IS NULL OR status = @Status::text
ORDER BY created_at DESC, id DESC
LIMIT @Limit;
