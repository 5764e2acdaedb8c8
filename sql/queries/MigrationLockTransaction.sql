-- Serialises schema migration across silos when only a transaction-mode pooler is reachable: once true, held until
-- the transaction that takes it ends (a session lock would stay on whichever backend the pooler lent, never released).
-- Tried and polled like MigrationLock, and with the same key, so both kinds of migrator exclude each other.
SELECT pg_try_advisory_xact_lock(5140662476791234900);
