-- Subscribes this connection to the job table's notifications (see the trigger in 0002_generation_job.sql).
LISTEN generation_job;
