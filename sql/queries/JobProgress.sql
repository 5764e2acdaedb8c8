-- Raises a running claim's progress to @Progress (never lowers it). No row: the lease is lost.
UPDATE generation_job
SET progress = greatest(progress, @Progress), updated_at = now()
WHERE id = @Id AND lease_token = @LeaseToken AND status = 'processing'
RETURNING id;
