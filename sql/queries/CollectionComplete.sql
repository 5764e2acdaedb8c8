-- Marks a collection completed when no asset of any of its flows is still pending or generating. Runs as a statement of
-- its own after CollectionLock, so its snapshot sees every completion committed before the lock was granted.
UPDATE collection_session c
SET status = 'completed'
WHERE c.id = @CollectionId AND c.status IS DISTINCT FROM 'completed'
  AND NOT EXISTS (
      SELECT 1 FROM generated_asset a JOIN generation_flow f ON f.id = a.generation_flow_id
      WHERE f.collection_session_id = c.id AND a.status IN ('pending', 'generating'))
RETURNING c.id;
