-- One job as an operator reads it, with the number of variants already stored and whether it waits for its
-- scheduled_for (a retry backoff).
SELECT j.id, j.client_id, j.type, j.status, j.progress, j.attempts, j.max_attempts, j.error, j.result::text,
       j.locked_by, j.priority, j.created_at, j.scheduled_for, j.started_at, j.completed_at, j.lease_expires_at,
       (SELECT count(*) FROM generation_job_output o WHERE o.job_id = j.id)::integer AS stored,
       j.scheduled_for > now() AS waiting
FROM generation_job j
WHERE j.id = @Id;
