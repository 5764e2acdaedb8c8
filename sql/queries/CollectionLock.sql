-- Locks the collection of a flow, inside a completion's transaction, before its assets are counted: of two last jobs of
-- a collection completing at once, the second waits here and then counts with the first one's assets committed.
-- Returns the collection's id, or no row when the flow has no collection (or is gone).
SELECT c.id FROM collection_session c
WHERE c.id = (SELECT f.collection_session_id FROM generation_flow f WHERE f.id = @FlowId)
FOR UPDATE OF c;
