-- The Gemini requests each of the next @Limit claimable jobs needs, in claim order (none for a job polling its video
-- operation). Read-only: decides how much budget to ask for before claiming.
SELECT CASE WHEN j.operation_name IS NOT NULL THEN 0
            ELSE greatest(generation_job_variants(j.payload)
                          - (SELECT count(*) FROM generation_job_output o WHERE o.job_id = j.id)::integer, 0)
       END AS cost
FROM generation_job j
WHERE j.status = 'pending' AND j.scheduled_for <= now()
ORDER BY j.priority, j.created_at
LIMIT @Limit;
