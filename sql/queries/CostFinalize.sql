-- Records the answer of an 'open' request: billed, not billed, possibly billed (no answer), or for a Veo start that
-- created an operation, awaiting_video (billed only when the operation ends, see CostVideoEnded). Not fenced by the
-- job's lease: a fenced-out worker's spend is still real. Returns nothing when the row was already settled.
UPDATE gemini_cost_ledger
SET state = @State, cost_micros = @CostMicros, input_tokens = @InputTokens, output_tokens = @OutputTokens,
    image_count = @ImageCount, http_status = @HttpStatus, error = @Error, duration_ms = @DurationMs,
    operation_name = @OperationName, finalized_at = CASE WHEN @State <> 'awaiting_video' THEN now() END
WHERE request_id = @RequestId AND state = 'open'
RETURNING request_id, job_id, client_id, model, state, cost_micros;
