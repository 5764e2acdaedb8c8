-- Puts back every claim whose lease expired (its worker stopped renewing): pending again, or failed when its attempts
-- are spent. A job polling its video operation (operation_name set) is always put back, without an error: its claims
-- spend no attempt, and the next one resumes the same operation. Returns the rescued ids with their new status.
UPDATE generation_job
SET status = CASE WHEN attempts >= max_attempts AND operation_name IS NULL THEN 'failed' ELSE 'pending' END,
    error = CASE WHEN operation_name IS NULL
                 THEN 'worker lost: lease expired while held by ' || coalesce(locked_by, 'an unknown worker')
                 ELSE error END,
    completed_at = CASE WHEN attempts >= max_attempts AND operation_name IS NULL THEN now() END,
    scheduled_for = now(),
    lease_token = NULL, lease_expires_at = NULL, updated_at = now()
WHERE status = 'processing' AND lease_expires_at < now()
RETURNING id, status;
