-- Puts a claim back to wait (a video that is still being generated): pending again after @DelaySeconds with progress
-- @Progress and no error, its attempt neither spent nor refunded (a polling claim spent none). No row: the lease is
-- lost.
UPDATE generation_job
SET status = 'pending',
    error = NULL,
    progress = greatest(progress, @Progress),
    scheduled_for = now() + make_interval(secs => @DelaySeconds),
    locked_by = NULL, lease_token = NULL, lease_expires_at = NULL, updated_at = now()
WHERE id = @Id AND lease_token = @LeaseToken AND status = 'processing'
RETURNING id, status;
