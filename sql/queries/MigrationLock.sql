-- Serialises schema migration across silos: once true, held on the migrating connection until MigrationUnlock.
-- Tried and polled, never waited for: a session blocked on the lock would hold a snapshot, and a CREATE INDEX
-- CONCURRENTLY of the holder's migration waits for every older snapshot, so the two would deadlock.
-- The key is fixed for this service (the ASCII bytes of "GWMIGRAT").
SELECT pg_try_advisory_lock(5140662476791234900);
