-- Deletes at most @Limit rows of the audit table (generation_job_event) older than @Days days, oldest first (ids grow
-- with time, so the primary key finds them). Returns how many went.
WITH old AS (
    SELECT id
    FROM generation_job_event
    WHERE at < now() - make_interval(days => @Days)
    ORDER BY id
    LIMIT @Limit
)
DELETE FROM generation_job_event e
USING old
WHERE e.id = old.id;
