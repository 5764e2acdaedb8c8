-- Serialises schema migration across silos: held on the migrating connection until MigrationUnlock.
-- The key is fixed for this service (the ASCII bytes of "GWMIGRAT").
SELECT pg_advisory_lock(5140662476791234900);
