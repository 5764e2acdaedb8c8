-- Bounds how long the migration's statements wait for a lock (@LockTimeout: milliseconds, as text): for the current
-- transaction when @Local, else for the session until MigrationLockTimeoutReset.
SELECT set_config('lock_timeout', @LockTimeout, @Local);
