-- The backlog gauges: pending jobs and the Gemini requests they ask for (the sum of their variants, 1 to 8 each), by
-- the model a claim routed them to (NULL: never claimed yet; a claim routes a job), and by client for the 20 clients
-- with the most requests waiting (the fair share's view). Reads the pending rows only, once.
WITH pending AS (
    SELECT model, client_id, generation_job_variants(payload) AS requests FROM generation_job WHERE status = 'pending'
)
SELECT 'model' AS dimension, model AS key, count(*) AS jobs, sum(requests)::bigint AS requests FROM pending GROUP BY model
UNION ALL
(SELECT 'client', client_id, count(*), sum(requests)::bigint FROM pending GROUP BY client_id ORDER BY 4 DESC, 2 LIMIT 20);
