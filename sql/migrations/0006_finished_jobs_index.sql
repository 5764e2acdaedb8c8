-- Finished jobs by status and completion time, for the operator page: the failures of the last hour and the
-- completions of the last minute read a range of this index instead of the whole table.
-- Built with a plain CREATE INDEX (the migrator runs each file in a transaction): it blocks writes to generation_job
-- while it builds, which on a table of millions of finished rows can take a while; build it by hand first with
-- CREATE INDEX CONCURRENTLY (same name) to avoid that, and this file then does nothing.
CREATE INDEX IF NOT EXISTS generation_job_finished_idx
    ON generation_job (status, completed_at) WHERE completed_at IS NOT NULL;
