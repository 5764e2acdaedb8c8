-- Fails the pending jobs @Ids whose next Gemini request would pass a spend cap (SPEND_CAP_ACTION=fail), with @Error and
-- no retry. Rows another statement holds (a claim in progress) are skipped. Returns the failed ids.
WITH capped AS (
    SELECT id FROM generation_job WHERE id = ANY(@Ids) AND status = 'pending' FOR UPDATE SKIP LOCKED
)
UPDATE generation_job j
SET status = 'failed', error = @Error, completed_at = now(), updated_at = now()
FROM capped c
WHERE j.id = c.id
RETURNING j.id;
