-- Records the name of the Veo operation the start created, and the progress of a started video. No row: the lease is
-- lost.
UPDATE generation_job
SET operation_name = @OperationName, progress = greatest(progress, @Progress), updated_at = now()
WHERE id = @Id AND lease_token = @LeaseToken AND status = 'processing' AND operation_started_at IS NOT NULL
RETURNING id;
