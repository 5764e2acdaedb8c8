-- Puts back at once every claim held by silos the cluster declared dead (@Owners), without waiting for the lease.
-- @Drained: the silos left through a graceful shutdown (a deploy), not a crash: their claims' attempts are refunded,
-- as the drain's own give-back does, so a job is never failed for the platform's deploys. A job polling its video
-- operation is always put back, without an error and without touching its attempts (its polls spend none).
UPDATE generation_job
SET status = CASE WHEN NOT @Drained AND attempts >= max_attempts AND operation_name IS NULL THEN 'failed' ELSE 'pending' END,
    attempts = CASE WHEN @Drained AND operation_name IS NULL THEN greatest(attempts - 1, 0) ELSE attempts END,
    error = CASE WHEN operation_name IS NOT NULL THEN error
                 WHEN @Drained THEN 'worker stopped: silo ' || locked_by || ' shut down while running this job'
                 ELSE 'worker lost: silo ' || locked_by || ' died while running this job' END,
    completed_at = CASE WHEN NOT @Drained AND attempts >= max_attempts AND operation_name IS NULL THEN now() END,
    scheduled_for = now(),
    lease_token = NULL, lease_expires_at = NULL, updated_at = now()
WHERE status = 'processing' AND locked_by = ANY(@Owners)
RETURNING id, status;
