-- Serialises schema migration across silos when only a transaction-mode pooler is reachable: held until the
-- transaction that takes it ends (a session lock would stay on whichever backend the pooler lent, never released).
-- The same key as MigrationLock, so both kinds of migrator exclude each other.
SELECT pg_advisory_xact_lock(5140662476791234900);
