-- Fails at most @Limit pending jobs that were never claimed (no attempt spent, never started: a claim given back
-- without spending its attempt keeps started_at, so it is not expired) and were created more than @Minutes minutes
-- ago, with @Error. Rows another statement holds (a claim in progress) are skipped: the claim wins. Reads pending rows
-- only, through their partial index. Returns the expired ids.
WITH expired AS (
    SELECT id
    FROM generation_job
    WHERE status = 'pending' AND coalesce(attempts, 0) = 0 AND started_at IS NULL
      AND created_at < now() - make_interval(mins => @Minutes)
    LIMIT @Limit
    FOR UPDATE SKIP LOCKED
)
UPDATE generation_job j
SET status = 'failed', error = @Error, completed_at = now(), updated_at = now()
FROM expired e
WHERE j.id = e.id
RETURNING j.id;
