-- Cancels a job the way the web app does: only the status changes, and only from pending or processing. A running
-- claim sees it through the table's notification and stops; its fenced writes no longer land. No row: nothing to cancel.
UPDATE generation_job
SET status = 'cancelled'
WHERE id = @Id AND status IN ('pending', 'processing')
RETURNING id;
