-- Gives a claim back without spending its attempt (budget paused by a 429, shutting down, Gemini unusable): pending
-- again after @DelaySeconds, the claim's attempt refunded (a claim polling a video operation spent none: nothing to
-- refund).
UPDATE generation_job
SET status = 'pending',
    attempts = CASE WHEN operation_name IS NULL THEN greatest(attempts - 1, 0) ELSE attempts END,
    error = coalesce(@Error, error),
    scheduled_for = now() + make_interval(secs => @DelaySeconds),
    locked_by = NULL, lease_token = NULL, lease_expires_at = NULL, updated_at = now()
WHERE id = @Id AND lease_token = @LeaseToken AND status = 'processing'
RETURNING id, status;
