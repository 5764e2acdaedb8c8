-- What happened in the last minute, measured with the database's clock (returned as now).
SELECT now() AS now,
       (SELECT count(*) FROM generation_job WHERE status = 'completed' AND completed_at > now() - interval '1 minute') AS completed,
       (SELECT count(*) FROM generation_job WHERE status = 'failed' AND completed_at > now() - interval '1 minute') AS failed,
       (SELECT count(*) FROM generation_job_output WHERE created_at > now() - interval '1 minute') AS images,
       (SELECT min(created_at) FROM generation_job WHERE status = 'pending' AND scheduled_for <= now()) AS oldest_claimable;
