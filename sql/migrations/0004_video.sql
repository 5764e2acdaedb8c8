-- A video job's Veo operation: the only handle on a paid, running generation. operation_started_at is written (fenced)
-- just before the start request, operation_name as soon as its answer arrives. A row with a start time but no name
-- lost its start's answer: it is never started again. While operation_name is set the job is polling: its claims spend
-- no attempt and no budget, and a rescue never fails it.
ALTER TABLE generation_job
    ADD COLUMN IF NOT EXISTS operation_name       text        NULL,
    ADD COLUMN IF NOT EXISTS operation_started_at timestamptz NULL;
