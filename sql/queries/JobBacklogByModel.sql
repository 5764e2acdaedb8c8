-- The backlog gauge: pending jobs and the Gemini requests they ask for (the sum of their variants, 1 to 8 each), by the
-- model a claim routed them to (NULL: never claimed yet; a claim routes a job). Reads the pending rows only.
SELECT model, count(*) AS jobs, sum(generation_job_variants(payload))::bigint AS requests
FROM generation_job
WHERE status = 'pending'
GROUP BY model;
