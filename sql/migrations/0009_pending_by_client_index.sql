-- migrate: no-transaction
-- Pending jobs by client, in claim order: the dispatcher's look at each client's next jobs (fair share) reads the
-- clients by a skip scan of this index and each one's first jobs from it, whatever the backlog. Built concurrently,
-- like every index on the app's live table (see 0006_concurrent_indexes).
CREATE INDEX CONCURRENTLY IF NOT EXISTS generation_job_pending_client_idx
    ON generation_job (client_id, priority, created_at) WHERE status = 'pending';
