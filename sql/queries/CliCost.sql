-- The Gemini spend by client, model and UTC day (newest day first), for the operator's cost command: billed and
-- possibly billed exact micro-dollars and request counts. @ClientId and @Since (a UTC date) are optional (NULL: all).
SELECT client_id, model, (created_at AT TIME ZONE 'UTC')::date AS day,
       coalesce(sum(cost_micros) FILTER (WHERE state = 'billed'), 0)::bigint AS billed_micros,
       coalesce(sum(cost_micros) FILTER (WHERE state = 'possibly_billed'), 0)::bigint AS possibly_billed_micros,
       count(*) FILTER (WHERE state = 'billed') AS billed_requests,
       count(*) FILTER (WHERE state = 'possibly_billed') AS possibly_billed_requests
FROM gemini_cost_ledger
WHERE state IN ('billed', 'possibly_billed')
  AND (@ClientId::text IS NULL OR client_id = @ClientId)
  AND (@Since::date IS NULL OR created_at >= @Since::date::timestamp AT TIME ZONE 'UTC')
GROUP BY client_id, model, day
ORDER BY day DESC, client_id, model;
