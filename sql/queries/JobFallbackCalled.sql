-- Records, while @LeaseToken holds the job, that its fallback model @Model was called. No row: the lease is lost.
UPDATE generation_job
SET fallback_model = @Model, updated_at = now()
WHERE id = @Id AND lease_token = @LeaseToken AND status = 'processing'
RETURNING id;
