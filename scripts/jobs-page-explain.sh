#!/usr/bin/env bash
# Prints EXPLAIN ANALYZE of each query of the operator page (/dashboard/jobs) and of the backlog gauge on a throwaway
# database holding 100,000 pending jobs (50 clients; 5% scheduled later), 2,000 processing and 300,000 finished over 35 days
# (1,000 failed, 1 within the hour), on the project's PostgreSQL (scripts/postgres.sh). Use: bash scripts/jobs-page-explain.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port="${PGPORT:-55432}"
db="jobs_page_explain_$$"
psql=(psql -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 -qX)
"${psql[@]}" -d postgres -c "CREATE DATABASE $db" >/dev/null
trap '"${psql[@]}" -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null' EXIT
dotnet build "$root/src/Silo" -c Release -nologo -v q >/dev/null
DATABASE_URL="postgres://postgres@127.0.0.1:$port/$db" dotnet "$root/src/Silo/bin/Release/net10.0/GenerationWorker.Silo.dll" migrate >/dev/null

"${psql[@]}" -d "$db" <<'SQL'
ALTER TABLE generation_job DISABLE TRIGGER generation_job_changed;
INSERT INTO generation_job (id, client_id, type, payload, status, priority, model, created_at, scheduled_for)
SELECT 'pending_' || i, 'client_' || (i % 50), 'image_generation',
       jsonb_build_object('prompt', 'p', 'settings', jsonb_build_object('numberOfVariants', 1 + i % 4)),
       'pending', 100 + (i % 3) * 10, CASE WHEN i % 10 = 0 THEN 'gemini-2.5-flash-image' END,
       now() - make_interval(secs => i), now() - make_interval(secs => i) + CASE WHEN i % 20 = 0 THEN interval '1 hour' ELSE interval '0' END
FROM generate_series(1, 100000) i;
INSERT INTO generation_job (id, client_id, type, payload, status, priority, model, locked_by, started_at)
SELECT 'processing_' || i, 'client_' || (i % 50), 'image_generation', '{"prompt":"p"}', 'processing', 100,
       (ARRAY['gemini-2.5-flash-image', 'gemini-3-pro-image', 'gemini-3.1-flash-image', 'veo-3.1'])[1 + i % 4], 'silo', now()
FROM generate_series(1, 2000) i;
INSERT INTO generation_job (id, client_id, type, payload, status, priority, model, error, completed_at)
SELECT 'finished_' || i, 'client_' || (i % 50), 'image_generation', '{"prompt":"p"}',
       CASE WHEN i % 300 = 0 THEN 'failed' ELSE 'completed' END, 100, 'gemini-2.5-flash-image',
       CASE WHEN i % 300 = 0 THEN 'Gemini returned no image (IMAGE_SAFETY)' END,
       now() - make_interval(secs => i * 10)
FROM generate_series(1, 300000) i;
SQL
"${psql[@]}" -d "$db" -c "ANALYZE generation_job" >/dev/null
for query in JobsPageCounts JobsPageGroups JobsPageFailures JobBacklogByModel; do
    echo "== $query"
    # Run once to warm the cache as a page refreshed every second would be, then explain.
    "${psql[@]}" -d "$db" -f "$root/sql/queries/$query.sql" >/dev/null
    { echo "EXPLAIN (ANALYZE, BUFFERS)"; grep -v '^--' "$root/sql/queries/$query.sql"; } | "${psql[@]}" -d "$db" -At
done
