-- A retryable failure: back to pending after @DelaySeconds with the error kept, or failed when the attempts are spent.
UPDATE generation_job
SET status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'pending' END,
    error = @Error,
    scheduled_for = CASE WHEN attempts >= max_attempts THEN scheduled_for
                         ELSE now() + make_interval(secs => @DelaySeconds) END,
    completed_at = CASE WHEN attempts >= max_attempts THEN now() END,
    locked_by = CASE WHEN attempts >= max_attempts THEN locked_by END,
    lease_token = NULL, lease_expires_at = NULL, updated_at = now()
WHERE id = @Id AND lease_token = @LeaseToken AND status = 'processing'
RETURNING id, status;
