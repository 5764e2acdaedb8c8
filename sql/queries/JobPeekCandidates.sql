-- The claimable jobs the dispatcher chooses from, read-only: the first @Limit in (priority, created_at) order, and the
-- first @PerClient of each of up to @Clients clients with pending jobs after the client @After (the dispatcher turns
-- this cursor when there are more clients than that, so that every client is seen). Each with what routes it to a model (the row's
-- recorded model, the type, the payload's quality and overrides) and the Gemini requests it needs (none for a job
-- polling its video operation). Jobs @Skip are left out: a second look past jobs whose model has no permit now. The
-- clients are found by a skip scan of generation_job_pending_client_idx: the cost
-- grows with the clients read, not with the jobs waiting.
WITH RECURSIVE clients(client_id, n) AS (
    (SELECT client_id, 1 FROM generation_job
     WHERE status = 'pending' AND client_id > @After ORDER BY client_id LIMIT 1)
    UNION ALL
    SELECT (SELECT j.client_id FROM generation_job j
            WHERE j.status = 'pending' AND j.client_id > c.client_id ORDER BY j.client_id LIMIT 1), c.n + 1
    FROM clients c
    WHERE c.client_id IS NOT NULL AND c.n < @Clients
), candidate AS (
    (SELECT j.id FROM generation_job j
     WHERE j.status = 'pending' AND j.scheduled_for <= now() AND j.id NOT IN (SELECT unnest(@Skip::text[]))
     ORDER BY j.priority, j.created_at
     LIMIT @Limit)
    UNION
    SELECT p.id FROM clients w, LATERAL (
        SELECT j.id FROM generation_job j
        WHERE w.client_id IS NOT NULL AND j.status = 'pending' AND j.client_id = w.client_id AND j.scheduled_for <= now()
          AND j.id NOT IN (SELECT unnest(@Skip::text[]))
        ORDER BY j.priority, j.created_at
        LIMIT @PerClient) p
)
SELECT j.id, j.client_id, j.priority, j.created_at, j.type, j.model,
       j.payload -> 'settings' ->> 'imageQuality', j.payload -> 'modelOverrides' ->> 'imageModel',
       j.payload -> 'settings' ->> 'model',
       CASE WHEN j.operation_name IS NOT NULL THEN 0
            ELSE greatest(generation_job_variants(j.payload)
                          - (SELECT count(*) FROM generation_job_output o WHERE o.job_id = j.id)::integer, 0)
       END AS cost
-- Each candidate's row by its key: the LIMIT keeps the planner from joining them to a scan of every pending job.
FROM candidate c CROSS JOIN LATERAL (
    SELECT * FROM generation_job j WHERE j.id = c.id AND j.status = 'pending' LIMIT 1) j
ORDER BY j.priority, j.created_at;
