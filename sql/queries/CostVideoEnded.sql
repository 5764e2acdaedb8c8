-- Settles the start of a job's Veo operation once the operation ended: billed for @VideoSeconds of video when it made
-- one (its expected price: the seconds of video times the model's price), not billed when it failed, possibly billed
-- when the job gave up waiting. Only the first end counts.
UPDATE gemini_cost_ledger
SET state = @State, cost_micros = CASE WHEN @State = 'not_billed' THEN 0 ELSE expected_micros END, video_seconds = @VideoSeconds, error = @Error,
    duration_ms = (extract(epoch FROM now() - created_at) * 1000)::integer, finalized_at = now()
WHERE job_id = @JobId AND operation_name = @OperationName AND state = 'awaiting_video'
RETURNING request_id, job_id, client_id, model, state, cost_micros;
