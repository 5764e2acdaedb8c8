-- The operator page's failures: the 20 latest jobs failed in the last hour, with their errors (the first 500
-- characters). Reads a range of generation_job_finished_idx.
SELECT id, client_id, type, model, attempts, completed_at, left(error, 500) AS error
FROM generation_job
WHERE status = 'failed' AND completed_at > now() - interval '1 hour'
ORDER BY completed_at DESC
LIMIT 20;
