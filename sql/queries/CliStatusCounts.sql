-- How many jobs are in each status.
SELECT status, count(*) AS jobs FROM generation_job GROUP BY status ORDER BY status;
