-- The quota grain's persisted state (grain storage "quota", written by the Orleans ADO.NET provider) and when it was
-- last written. The grain flushes its sends about once a second, so this trails the live grain by that much.
SELECT payload_binary, modified_on
FROM orleans_storage
WHERE service_id = @ServiceId AND grain_type_string = 'budget' AND payload_binary IS NOT NULL
ORDER BY modified_on DESC
LIMIT 1;
