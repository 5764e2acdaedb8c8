-- Claims, for @Owner, the jobs @Ids that are still claimable (pending and due; another silo may have taken some since
-- they were chosen). Otherwise as JobClaim: each claim spends an attempt (none for a job polling its video operation),
-- gets a fresh lease token and a lease of @LeaseSeconds; NULL attempts count as none and NULL max_attempts becomes 3.
WITH chosen AS (
    SELECT j.id,
           (SELECT count(*) FROM generation_job_output o WHERE o.job_id = j.id)::integer AS stored,
           CASE WHEN j.operation_name IS NOT NULL THEN 0
                ELSE greatest(generation_job_variants(j.payload)
                              - (SELECT count(*) FROM generation_job_output o WHERE o.job_id = j.id)::integer, 0)
           END AS cost
    FROM generation_job j
    WHERE j.id = ANY(@Ids) AND j.status = 'pending' AND j.scheduled_for <= now()
    FOR UPDATE SKIP LOCKED
)
UPDATE generation_job j
SET status = 'processing',
    attempts = coalesce(j.attempts, 0) + CASE WHEN j.operation_name IS NULL THEN 1 ELSE 0 END,
    max_attempts = coalesce(j.max_attempts, 3),
    locked_by = @Owner,
    locked_at = now(),
    started_at = coalesce(j.started_at, now()),
    lease_token = gen_random_uuid(),
    lease_expires_at = now() + make_interval(secs => @LeaseSeconds),
    updated_at = now()
FROM chosen c
WHERE j.id = c.id
RETURNING j.id, j.lease_token, j.attempts, j.max_attempts, c.cost, c.stored, j.client_id, j.type, j.payload::text, j.flow_id,
          j.model;
