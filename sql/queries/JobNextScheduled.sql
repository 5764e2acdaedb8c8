-- When the earliest pending job that is not yet claimable becomes claimable, or NULL.
SELECT min(scheduled_for) AS next_at FROM generation_job WHERE status = 'pending' AND scheduled_for > now();
