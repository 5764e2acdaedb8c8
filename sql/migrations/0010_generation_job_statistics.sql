-- The planner's statistics of generation_job follow its backlog. The worker reads the table through partial indexes
-- of its pending and processing rows, a small share of a table that keeps every finished job. Autovacuum analyzes a
-- table once a tenth of it has changed: in a table of a million finished jobs, a backlog of 30,000 arrives unseen, and
-- the planner, still believing in the few pending rows it last counted, reads every pending row and sorts them to
-- choose the dispatcher's 64 (a look then reads the whole backlog instead of 64 rows). Analyzed here after every 1,000
-- rows changed, whatever the table's size, at autovacuum's pace (once a minute at most, by default): an analyze samples
-- at most 30,000 rows, so its cost does not grow with the table either. A table whose analyze settings an operator has
-- already chosen keeps them.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_class c, unnest(c.reloptions) AS o
                   WHERE c.oid = 'generation_job'::regclass AND o LIKE 'autovacuum_analyze_%') THEN
        ALTER TABLE generation_job SET (autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 1000);
    END IF;
END
$$;
