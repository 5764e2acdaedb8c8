-- Claims, for @Owner, up to @Limit claimable jobs in (priority, created_at) order whose Gemini requests fit in @Budget,
-- without skipping ahead: the first job that does not fit ends the batch, except that jobs needing no request (a video
-- polling its operation) are claimed whatever comes before them. Each claim spends an attempt and gets a fresh lease
-- token and a lease of @LeaseSeconds, except that a job polling its video operation (operation_name set) spends no
-- attempt. Returns what the job grain needs to run the claim, so it reads nothing more. The app may leave attempts or
-- max_attempts NULL: the claim counts NULL attempts as none spent and writes NULL max_attempts as the column's default
-- (3), so the retry and rescue queries compare numbers, and one such row never breaks the batch.
WITH candidate AS (
    SELECT j.id, j.priority, j.created_at,
           (SELECT count(*) FROM generation_job_output o WHERE o.job_id = j.id)::integer AS stored,
           CASE WHEN j.operation_name IS NOT NULL THEN 0
                ELSE greatest(generation_job_variants(j.payload)
                              - (SELECT count(*) FROM generation_job_output o WHERE o.job_id = j.id)::integer, 0)
           END AS cost
    FROM generation_job j
    WHERE j.status = 'pending' AND j.scheduled_for <= now()
    ORDER BY j.priority, j.created_at
    LIMIT @Limit
    FOR UPDATE SKIP LOCKED
), affordable AS (
    SELECT id, stored, cost
    FROM (SELECT id, stored, cost, sum(cost) OVER (ORDER BY priority, created_at, id) AS running FROM candidate) c
    WHERE running <= @Budget OR cost = 0
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
FROM affordable a
WHERE j.id = a.id
RETURNING j.id, j.lease_token, j.attempts, j.max_attempts, a.cost, a.stored, j.client_id, j.type, j.payload::text, j.flow_id,
          j.model;
