-- migrate: no-transaction
-- The worker's indexes on the web app's live generation_job table, built concurrently: CREATE INDEX in a transaction
-- holds a SHARE lock that stops the app's inserts and updates for the whole build (and, while it waits for that lock,
-- queues every query of the app behind it). A concurrent build lets them through. The migrator drops an index a failed
-- build left INVALID before running this file again, so IF NOT EXISTS never keeps a broken one.
--
-- Databases migrated before this file got these indexes from 0002_generation_job and 0003_app_parity, in their
-- transactions: here they already exist and nothing is built. Fresh databases get them here only.

-- The claim query walks this index in (priority, created_at) order over pending rows only.
CREATE INDEX CONCURRENTLY IF NOT EXISTS generation_job_claimable_idx
    ON generation_job (priority, created_at) WHERE status = 'pending';
-- The next wake-up: the earliest future scheduled_for among pending rows.
CREATE INDEX CONCURRENTLY IF NOT EXISTS generation_job_scheduled_idx
    ON generation_job (scheduled_for) WHERE status = 'pending';
-- Rescue: processing rows by lease expiry and by owner.
CREATE INDEX CONCURRENTLY IF NOT EXISTS generation_job_lease_idx
    ON generation_job (lease_expires_at) WHERE status = 'processing';
CREATE INDEX CONCURRENTLY IF NOT EXISTS generation_job_owner_idx
    ON generation_job (locked_by) WHERE status = 'processing';
-- Budgets, costs and the operator page group open jobs by model.
CREATE INDEX CONCURRENTLY IF NOT EXISTS generation_job_model_idx
    ON generation_job (model, status) WHERE status IN ('pending', 'processing');
