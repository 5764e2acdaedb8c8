-- The operator page's groups of pending and processing jobs by priority, by client and by model (NULL: not routed yet,
-- a claim routes a job), each the 20 largest. Reads the pending and processing rows only (their partial indexes).
(SELECT 'priority' AS dimension, priority::text AS key,
        count(*) FILTER (WHERE status = 'pending') AS pending, count(*) FILTER (WHERE status = 'processing') AS processing
 FROM generation_job WHERE status IN ('pending', 'processing')
 GROUP BY priority ORDER BY count(*) DESC, priority LIMIT 20)
UNION ALL
(SELECT 'client', client_id,
        count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'processing')
 FROM generation_job WHERE status IN ('pending', 'processing')
 GROUP BY client_id ORDER BY count(*) DESC, client_id LIMIT 20)
UNION ALL
(SELECT 'model', model,
        count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'processing')
 FROM generation_job WHERE status IN ('pending', 'processing')
 GROUP BY model ORDER BY count(*) DESC, model LIMIT 20);
