-- Marks a migration as applied; runs in the same transaction as the migration itself.
INSERT INTO schema_migration (version, name) VALUES (@Version, @Name);
