-- Extends the lease of a running claim. No row: the lease is lost (cancelled, rescued, or claimed again).
UPDATE generation_job
SET lease_expires_at = now() + make_interval(secs => @LeaseSeconds), updated_at = now()
WHERE id = @Id AND lease_token = @LeaseToken AND status = 'processing'
RETURNING id;
