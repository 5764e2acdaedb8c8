-- When the earliest pending job not yet claimable becomes so, or NULL: the next wake-up while the due jobs all wait for
-- the budget (a video's next poll, a retry's delay).
SELECT min(scheduled_for) AS next_at FROM generation_job WHERE status = 'pending' AND scheduled_for > now();
