-- A retryable failure: back to pending after @DelaySeconds with the error kept, or failed when the attempts are spent.
-- A job polling its video operation (operation_name set) spent no attempt on this claim and is never failed here: its
-- operation may still finish, and the video's own timeout bounds it.
UPDATE generation_job
SET status = CASE WHEN attempts >= max_attempts AND operation_name IS NULL THEN 'failed' ELSE 'pending' END,
    error = @Error,
    scheduled_for = CASE WHEN attempts >= max_attempts AND operation_name IS NULL THEN scheduled_for
                         ELSE now() + make_interval(secs => @DelaySeconds) END,
    completed_at = CASE WHEN attempts >= max_attempts AND operation_name IS NULL THEN now() END,
    locked_by = CASE WHEN attempts >= max_attempts AND operation_name IS NULL THEN locked_by END,
    lease_token = NULL, lease_expires_at = NULL, updated_at = now()
WHERE id = @Id AND lease_token = @LeaseToken AND status = 'processing'
RETURNING id, status;
