-- Puts a failed, cancelled or waiting job back to pending now with its attempts reset, so it gets a full set of
-- attempts again. The error stays until the next run ends; variants already stored are kept and not paid for again. A
-- failed or cancelled video starts a new operation; a waiting one keeps polling its own.
-- No row: the job does not exist or is processing or completed.
UPDATE generation_job
SET status = 'pending', attempts = 0, scheduled_for = now(), completed_at = NULL,
    locked_by = NULL, locked_at = NULL, lease_token = NULL, lease_expires_at = NULL,
    operation_name = CASE WHEN status = 'pending' THEN operation_name END,
    operation_started_at = CASE WHEN status = 'pending' THEN operation_started_at END, updated_at = now()
WHERE id = @Id AND status IN ('failed', 'cancelled', 'pending')
RETURNING id;
