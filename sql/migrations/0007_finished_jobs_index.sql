-- migrate: no-transaction
-- Finished jobs by status and completion time, for the operator page: the failures of the last hour and the
-- completions of the last minute read a range of this index instead of the whole table. Built concurrently, like every
-- index on the app's live table (see 0006_concurrent_indexes).
CREATE INDEX CONCURRENTLY IF NOT EXISTS generation_job_finished_idx
    ON generation_job (status, completed_at) WHERE completed_at IS NOT NULL;
