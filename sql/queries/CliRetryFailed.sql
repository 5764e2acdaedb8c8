-- Puts every failed job back to pending now with its attempts reset (see CliRetryJob). Returns their ids.
UPDATE generation_job
SET status = 'pending', attempts = 0, scheduled_for = now(), completed_at = NULL,
    locked_by = NULL, locked_at = NULL, lease_token = NULL, lease_expires_at = NULL,
    operation_name = NULL, operation_started_at = NULL, updated_at = now()
WHERE status = 'failed'
RETURNING id;
