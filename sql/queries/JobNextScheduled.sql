-- How long until the earliest pending job becomes claimable (zero or less: it already is; a job became claimable
-- between the caller's last look and this one), in seconds of the database's clock, or NULL when nothing is pending.
-- A delay, not a time: the silos' clocks may differ from the database's.
SELECT extract(epoch FROM min(scheduled_for) - now())::double precision AS due_in FROM generation_job WHERE status = 'pending';
