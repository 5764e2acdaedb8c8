-- The migrations already applied to this database.
SELECT version, name FROM schema_migration ORDER BY version;
