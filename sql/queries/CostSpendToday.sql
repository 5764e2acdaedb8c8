-- Today's (UTC) Gemini spend, for /status: what was billed, what was possibly billed (no answer came), and the
-- requests still awaiting their answer (open) with their expected price. Exact micro-dollars.
SELECT coalesce(sum(cost_micros) FILTER (WHERE state = 'billed'), 0)::bigint AS billed_micros,
       coalesce(sum(cost_micros) FILTER (WHERE state = 'possibly_billed'), 0)::bigint AS possibly_billed_micros,
       count(*) FILTER (WHERE state = 'billed') AS billed_requests,
       count(*) FILTER (WHERE state = 'possibly_billed') AS possibly_billed_requests,
       coalesce(sum(expected_micros) FILTER (WHERE state IN ('open', 'awaiting_video')), 0)::bigint AS pending_micros
FROM gemini_cost_ledger
WHERE created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
