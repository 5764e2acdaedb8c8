-- When the earliest pending job becomes (or became) claimable, or NULL when nothing is pending. A time in the past
-- means a job became claimable between the caller's last look and this one.
SELECT min(scheduled_for) AS next_at FROM generation_job WHERE status = 'pending';
