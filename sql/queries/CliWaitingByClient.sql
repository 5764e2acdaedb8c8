-- The 20 clients with the most Gemini requests waiting in pending jobs (a job's variants not yet stored; none for a
-- video polling its operation), with their job counts.
SELECT j.client_id, count(*)::bigint AS jobs,
       sum(CASE WHEN j.operation_name IS NOT NULL THEN 0 ELSE generation_job_variants(j.payload) END)::bigint AS requests
FROM generation_job j
WHERE j.status = 'pending'
GROUP BY j.client_id
ORDER BY requests DESC, j.client_id
LIMIT 20;
