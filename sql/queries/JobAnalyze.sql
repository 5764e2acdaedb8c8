-- Takes the planner's statistics of generation_job's status again, and with them the sizes of the table and its
-- indexes (see JobStatisticsStale): what a backlog changes. The status alone is sampled (the rest follows at
-- autovacuum's next analyze): a third of the time of the whole table's.
ANALYZE generation_job (status);
