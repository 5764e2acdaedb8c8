-- Records, before the start request is sent, that a Veo start is in flight for the job @LeaseToken holds. No row: the
-- lease is lost, or a start was already sent (never send a second one).
UPDATE generation_job
SET operation_started_at = now(), operation_name = NULL, updated_at = now()
WHERE id = @Id AND lease_token = @LeaseToken AND status = 'processing' AND operation_started_at IS NULL
RETURNING id;
