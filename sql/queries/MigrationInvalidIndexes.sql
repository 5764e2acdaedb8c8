-- The indexes named in @Names left INVALID in the current schema by a concurrent build that failed or was cancelled
-- (CREATE INDEX CONCURRENTLY keeps the half-built index, which IF NOT EXISTS would then take for done), and that no
-- session is building now; each with the statement that drops it without blocking the table's writers.
SELECT c.relname, format('DROP INDEX CONCURRENTLY IF EXISTS %I.%I', n.nspname, c.relname)
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT i.indisvalid
  AND c.relname = ANY (@Names)
  AND n.nspname = current_schema()
  AND NOT EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = i.indexrelid);
