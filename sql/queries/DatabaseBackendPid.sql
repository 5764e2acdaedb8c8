-- The pooler probe: which server session ran this statement. A PostgreSQL server gives a connection one backend for
-- its life; a transaction-mode pooler lends each transaction whichever backend is free.
SELECT pg_backend_pid();
