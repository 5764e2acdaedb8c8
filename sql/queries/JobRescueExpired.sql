-- Puts back every claim whose lease expired (its worker stopped renewing): pending again, or failed when its attempts
-- are spent. Returns the rescued ids with their new status.
UPDATE generation_job
SET status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'pending' END,
    error = 'worker lost: lease expired while held by ' || coalesce(locked_by, 'an unknown worker'),
    completed_at = CASE WHEN attempts >= max_attempts THEN now() END,
    scheduled_for = now(),
    lease_token = NULL, lease_expires_at = NULL, updated_at = now()
WHERE status = 'processing' AND lease_expires_at < now()
RETURNING id, status;
