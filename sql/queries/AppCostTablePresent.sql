-- Whether the web app's cost table exists in this database (the app creates it, never the service).
SELECT to_regclass('ai_cost_tracking') IS NOT NULL;
