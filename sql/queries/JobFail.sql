-- Fails a claim for good (a permanent error). A video's operation is forgotten: whoever retries the failed job by hand
-- starts a new one. No row: the lease is lost and nothing changed.
UPDATE generation_job
SET status = 'failed', error = @Error, completed_at = now(), lease_token = NULL, lease_expires_at = NULL,
    operation_name = NULL, operation_started_at = NULL, updated_at = now()
WHERE id = @Id AND lease_token = @LeaseToken AND status = 'processing'
RETURNING id, status;
