-- Puts back at once every claim held by silos the cluster declared dead (@Owners), without waiting for the lease.
UPDATE generation_job
SET status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'pending' END,
    error = 'worker lost: silo ' || locked_by || ' died while running this job',
    completed_at = CASE WHEN attempts >= max_attempts THEN now() END,
    scheduled_for = now(),
    lease_token = NULL, lease_expires_at = NULL, updated_at = now()
WHERE status = 'processing' AND locked_by = ANY(@Owners)
RETURNING id, status;
