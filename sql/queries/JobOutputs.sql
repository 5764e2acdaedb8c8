-- The variants of a job already generated and stored.
SELECT variant, object_key, url, image_id, original_key, original_url FROM generation_job_output WHERE job_id = @Id ORDER BY variant;
