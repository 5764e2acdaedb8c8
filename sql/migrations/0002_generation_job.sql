-- The web app's job table and what the worker adds to it.
-- The app may have created generation_job already (with rows in it): everything here upgrades in place and never drops.

CREATE TABLE IF NOT EXISTS generation_job (
    id            text PRIMARY KEY DEFAULT ('job_' || replace(gen_random_uuid()::text, '-', '')),
    client_id     text        NOT NULL,
    flow_id       text        NULL,
    type          text        NOT NULL,
    payload       jsonb       NOT NULL,
    status        text        NOT NULL DEFAULT 'pending',
    progress      integer     NOT NULL DEFAULT 0,
    result        jsonb       NULL,
    error         text        NULL,
    attempts      integer     NOT NULL DEFAULT 0,
    max_attempts  integer     NOT NULL DEFAULT 3,
    scheduled_for timestamptz NOT NULL DEFAULT now(),
    locked_by     text        NULL,
    locked_at     timestamptz NULL,
    priority      integer     NOT NULL DEFAULT 100,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz NULL,
    completed_at  timestamptz NULL
);

-- Columns an older app table may lack, then the worker's own: the lease that fences every write of a claim.
ALTER TABLE generation_job
    ADD COLUMN IF NOT EXISTS flow_id          text        NULL,
    ADD COLUMN IF NOT EXISTS progress         integer     NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS result           jsonb       NULL,
    ADD COLUMN IF NOT EXISTS error            text        NULL,
    ADD COLUMN IF NOT EXISTS attempts         integer     NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS max_attempts     integer     NOT NULL DEFAULT 3,
    ADD COLUMN IF NOT EXISTS scheduled_for    timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN IF NOT EXISTS locked_by        text        NULL,
    ADD COLUMN IF NOT EXISTS locked_at        timestamptz NULL,
    ADD COLUMN IF NOT EXISTS priority         integer     NOT NULL DEFAULT 100,
    ADD COLUMN IF NOT EXISTS created_at       timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN IF NOT EXISTS started_at       timestamptz NULL,
    ADD COLUMN IF NOT EXISTS completed_at     timestamptz NULL,
    ADD COLUMN IF NOT EXISTS lease_token      uuid        NULL,
    ADD COLUMN IF NOT EXISTS lease_expires_at timestamptz NULL,
    ADD COLUMN IF NOT EXISTS updated_at       timestamptz NOT NULL DEFAULT now();

-- The worker's indexes on generation_job are built concurrently, outside a transaction: 0006_concurrent_indexes.

-- Images already generated and stored for a job, so that a retry never pays for them again.
CREATE TABLE IF NOT EXISTS generation_job_output (
    job_id       text        NOT NULL REFERENCES generation_job (id) ON DELETE CASCADE,
    variant      integer     NOT NULL,
    object_key   text        NOT NULL,
    url          text        NOT NULL,
    image_id     text        NOT NULL,
    content_type text        NOT NULL,
    size_bytes   integer     NOT NULL,
    lease_token  uuid        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, variant)
);

-- Every state change of a job, written by the trigger below: who claimed, who completed, how many times.
CREATE TABLE IF NOT EXISTS generation_job_event (
    id          bigserial   PRIMARY KEY,
    job_id      text        NOT NULL,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    from_status text        NULL,
    to_status   text        NOT NULL,
    attempt     integer     NOT NULL,
    worker      text        NULL,
    lease_token uuid        NULL,
    error       text        NULL
);
CREATE INDEX IF NOT EXISTS generation_job_event_job_idx ON generation_job_event (job_id, id);

-- How many Gemini requests a job still needs: its variants (1 to 8; a bad value counts as 1 and fails later in the
-- worker with a clear error) minus the variants already stored.
CREATE OR REPLACE FUNCTION generation_job_variants(p jsonb) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN jsonb_typeof(p) = 'object'
         AND jsonb_typeof(p -> 'settings') = 'object'
         AND jsonb_typeof(p -> 'settings' -> 'numberOfVariants') = 'number'
        THEN least(greatest(floor((p -> 'settings' ->> 'numberOfVariants')::numeric), 1), 8)::integer
        ELSE 1
    END
$$;

-- Wakes the dispatchers (channel generation_job): 'pending' when a row becomes claimable now, 'scheduled:<epoch s>'
-- when it becomes claimable later, 'cancelled:<id>' when the app cancels a row. Also writes the audit trail.
CREATE OR REPLACE FUNCTION generation_job_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM NEW.status OR OLD.lease_token IS DISTINCT FROM NEW.lease_token THEN
        INSERT INTO generation_job_event (job_id, from_status, to_status, attempt, worker, lease_token, error)
        VALUES (NEW.id, CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, NEW.status, NEW.attempts, NEW.locked_by,
                NEW.lease_token, CASE WHEN NEW.status IN ('pending', 'failed') THEN NEW.error END);
    END IF;

    IF NEW.status = 'pending' AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM 'pending'
                                   OR OLD.scheduled_for IS DISTINCT FROM NEW.scheduled_for) THEN
        IF NEW.scheduled_for <= now() THEN
            PERFORM pg_notify('generation_job', 'pending');
        ELSE
            PERFORM pg_notify('generation_job', 'scheduled:' || extract(epoch FROM NEW.scheduled_for)::text);
        END IF;
    ELSIF NEW.status = 'cancelled' AND TG_OP = 'UPDATE' AND OLD.status IS DISTINCT FROM 'cancelled' THEN
        PERFORM pg_notify('generation_job', 'cancelled:' || NEW.id);
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS generation_job_changed ON generation_job;
CREATE TRIGGER generation_job_changed
    AFTER INSERT OR UPDATE ON generation_job
    FOR EACH ROW EXECUTE FUNCTION generation_job_changed();
