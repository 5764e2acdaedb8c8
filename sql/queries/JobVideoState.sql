-- The Veo operation of a job @LeaseToken holds: its name (null before the start's answer), whether a start was sent,
-- how long ago by the database's clock (seconds), and the job's progress. No row: the lease is lost.
SELECT operation_name, operation_started_at IS NOT NULL AS start_sent,
       coalesce(extract(epoch FROM now() - operation_started_at), 0)::float8 AS age_seconds, progress
FROM generation_job
WHERE id = @Id AND lease_token = @LeaseToken AND status = 'processing';
