-- Completes a claim with its result. No row: the lease is lost and nothing changed.
UPDATE generation_job
SET status = 'completed', result = @Result::jsonb, progress = 100, error = NULL, completed_at = now(),
    lease_token = NULL, lease_expires_at = NULL, updated_at = now()
WHERE id = @Id AND lease_token = @LeaseToken AND status = 'processing'
RETURNING id;
