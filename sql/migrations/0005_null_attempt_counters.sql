-- The app may create generation_job with nullable attempts and max_attempts and insert NULL there. The audit trail's
-- attempt is NOT NULL, so the trigger records a NULL attempts as 0 instead of failing the app's insert (the claim then
-- counts it as 0, see JobClaim). Otherwise the same function as in 0002_generation_job.
CREATE OR REPLACE FUNCTION generation_job_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM NEW.status OR OLD.lease_token IS DISTINCT FROM NEW.lease_token THEN
        INSERT INTO generation_job_event (job_id, from_status, to_status, attempt, worker, lease_token, error)
        VALUES (NEW.id, CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, NEW.status, coalesce(NEW.attempts, 0), NEW.locked_by,
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
