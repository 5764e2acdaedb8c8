-- How long until the earliest pending job not yet claimable becomes so, in seconds of the database's clock, or NULL:
-- the next wake-up while the due jobs all wait for the budget (a video's next poll, a retry's delay).
SELECT extract(epoch FROM min(scheduled_for) - now())::double precision AS due_in
FROM generation_job WHERE status = 'pending' AND scheduled_for > now();
