-- Sent through an ordinary pooled connection: the listener expects to receive it back, proving notifications are
-- delivered (a transaction-mode pooler accepts LISTEN but never delivers).
SELECT pg_notify('generation_job', @Payload);
