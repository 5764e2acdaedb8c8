-- Whether the planner's statistics of generation_job are stale for the worker's statements: true when a partial index
-- (of pending or of processing rows) has grown to four times its size at the last ANALYZE, and by two pages at least
-- (several hundred rows). The worker reads the table through those indexes; statistics taken while they were nearly
-- empty make the planner read every row they now hold.
SELECT coalesce(bool_or(pg_relation_size(i.indexrelid) / current_setting('block_size')::bigint
                        >= greatest(4 * c.relpages, c.relpages + 2)), false)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = 'generation_job'::regclass AND pg_get_expr(i.indpred, i.indrelid) LIKE '%status%';
