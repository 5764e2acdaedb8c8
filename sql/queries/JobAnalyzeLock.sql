-- One silo at a time takes generation_job's statistics again (JobAnalyze): held until its transaction ends; false when
-- another silo is at it.
SELECT pg_try_advisory_xact_lock(5140662476791234901);
