-- Copies every settled billed or possibly billed request not yet copied into worker_cost_tracking (the service's own table of the same meaning, when the app's is absent): one row per request, keyed by
-- its request id. cost_usd_cents is rounded to whole cents as the column requires; metadata keeps the exact figure.
-- Runs in the same batch as the write that settles a request, and again with the next one if it ever failed.
WITH pending AS (
    SELECT request_id FROM gemini_cost_ledger
    WHERE NOT tracked AND state IN ('billed', 'possibly_billed')
    ORDER BY request_id
    LIMIT 1000
    FOR UPDATE SKIP LOCKED
), settled AS (
    UPDATE gemini_cost_ledger l SET tracked = true
    FROM pending p WHERE l.request_id = p.request_id
    RETURNING l.*
)
INSERT INTO worker_cost_tracking (id, client_id, request_id, job_id, operation_type, model, provider, cost_usd_cents, input_tokens,
                    output_tokens, image_count, video_duration_seconds, metadata, success, error_message, duration_ms,
                    created_at)
SELECT s.request_id::text, s.client_id, s.request_id::text, s.job_id, s.operation_type, s.model, 'google-gemini',
       round(s.cost_micros / 10000.0)::integer, s.input_tokens, s.output_tokens, s.image_count, s.video_seconds,
       jsonb_build_object('costUsd', trim_scale(s.cost_micros / 1000000.0), 'costMicros', s.cost_micros,
                          'expectedMicros', s.expected_micros, 'billing', s.state, 'attempt', s.attempt, 'call', s.call,
                          'httpStatus', s.http_status),
       CASE WHEN s.state = 'billed' AND s.error IS NULL THEN 1 ELSE 0 END, s.error, s.duration_ms,
       coalesce(s.finalized_at, now()) AT TIME ZONE 'UTC'
FROM settled s
ON CONFLICT (id) DO NOTHING;
