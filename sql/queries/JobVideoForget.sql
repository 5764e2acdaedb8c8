-- Forgets the job's Veo operation: its start was refused (none was created), or it ended with an error, so the next
-- attempt may start a new one. No row: the lease is lost.
UPDATE generation_job
SET operation_name = NULL, operation_started_at = NULL, updated_at = now()
WHERE id = @Id AND lease_token = @LeaseToken AND status = 'processing'
RETURNING id;
