-- Puts back at once every claim held by silos the cluster declared dead (@Owners), without waiting for the lease. A job
-- polling its video operation is always put back, without an error (see JobRescueExpired).
UPDATE generation_job
SET status = CASE WHEN attempts >= max_attempts AND operation_name IS NULL THEN 'failed' ELSE 'pending' END,
    error = CASE WHEN operation_name IS NULL THEN 'worker lost: silo ' || locked_by || ' died while running this job'
                 ELSE error END,
    completed_at = CASE WHEN attempts >= max_attempts AND operation_name IS NULL THEN now() END,
    scheduled_for = now(),
    lease_token = NULL, lease_expires_at = NULL, updated_at = now()
WHERE status = 'processing' AND locked_by = ANY(@Owners)
RETURNING id, status;
