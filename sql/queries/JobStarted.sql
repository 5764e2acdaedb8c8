-- Records, while @LeaseToken holds the job, the model its payload routes it to and the progress of its start. No row:
-- the lease is lost.
UPDATE generation_job
SET model = @Model, progress = greatest(progress, @Progress), updated_at = now()
WHERE id = @Id AND lease_token = @LeaseToken AND status = 'processing'
RETURNING id;
