-- The operator page's totals, by the database's clock (returned as now): jobs pending (all, and those whose
-- scheduled_for is still ahead), processing, failed in the last hour and completed in the last minute. Pending and
-- processing are counted on their partial indexes, the finished ones on a range of generation_job_finished_idx: no
-- count reads the whole table.
SELECT now() AS now,
       (SELECT count(*) FROM generation_job WHERE status = 'pending') AS pending,
       (SELECT count(*) FROM generation_job WHERE status = 'pending' AND scheduled_for > now()) AS pending_later,
       (SELECT count(*) FROM generation_job WHERE status = 'processing') AS processing,
       (SELECT count(*) FROM generation_job WHERE status = 'failed' AND completed_at > now() - interval '1 hour') AS failed_last_hour,
       (SELECT count(*) FROM generation_job WHERE status = 'completed' AND completed_at > now() - interval '1 minute') AS completed_last_minute;
