-- Settles the requests the given (dead) silos sent and never saw answered as possibly billed, at their full expected
-- price: their answer, or a bill, may have come after the process died.
UPDATE gemini_cost_ledger
SET state = 'possibly_billed', cost_micros = expected_micros,
    error = 'no answer recorded: silo ' || owner || ' died during the request',
    duration_ms = (extract(epoch FROM now() - created_at) * 1000)::integer, finalized_at = now()
WHERE state = 'open' AND owner = ANY(@Owners)
RETURNING request_id, job_id, client_id, model, state, cost_micros;
