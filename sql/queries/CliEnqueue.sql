-- Inserts a job exactly as the web app does (the id comes from the table's default) and returns its id.
INSERT INTO generation_job (client_id, type, payload, priority, max_attempts)
VALUES (@ClientId, @Type, @Payload::jsonb, @Priority, @MaxAttempts)
RETURNING id;
