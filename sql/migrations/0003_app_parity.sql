-- What the service records for the web app's reads beyond generation_job.result.

-- The model a job is routed to, set when its payload is parsed, and the fallback model when one was called: budgets,
-- costs and the operator page group jobs by model.
ALTER TABLE generation_job
    ADD COLUMN IF NOT EXISTS model          text NULL,
    ADD COLUMN IF NOT EXISTS fallback_model text NULL;
-- Its index is built concurrently, outside a transaction: 0006_concurrent_indexes.

-- A stored variant is a display object (WebP) and its original (PNG): the original's key and URL are recorded with it,
-- so a retry neither encodes nor uploads a stored variant again. image_id is the variant's asset id.
ALTER TABLE generation_job_output
    ADD COLUMN IF NOT EXISTS original_key text NULL,
    ADD COLUMN IF NOT EXISTS original_url text NULL;
