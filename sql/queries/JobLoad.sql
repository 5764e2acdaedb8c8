-- What a job grain needs to run a claim; no row when the claim is no longer this lease's.
SELECT j.client_id, j.type, j.payload::text AS payload, j.attempts, j.max_attempts
FROM generation_job j
WHERE j.id = @Id AND j.lease_token = @LeaseToken AND j.status = 'processing';
