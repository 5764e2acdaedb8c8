-- The jobs a live view shows, oldest first: every pending or processing job, and those that became completed, failed
-- or cancelled within @RecentSeconds (the app's cancel touches only the status, so its time comes from the audit trail).
SELECT j.id, j.type, j.status, j.progress, j.attempts, j.max_attempts, j.error, j.scheduled_for > now() AS waiting
FROM generation_job j
WHERE j.status IN ('pending', 'processing')
   OR (j.status IN ('completed', 'failed') AND j.completed_at > now() - make_interval(secs => @RecentSeconds))
   OR (j.status = 'cancelled' AND EXISTS (
        SELECT 1 FROM generation_job_event e
        WHERE e.job_id = j.id AND e.to_status = 'cancelled' AND e.at > now() - make_interval(secs => @RecentSeconds)))
ORDER BY j.created_at, j.id
LIMIT @Limit;
