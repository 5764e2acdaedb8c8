-- Releases the lock taken by MigrationLock on the same connection.
SELECT pg_advisory_unlock(5140662476791234900);
