-- Links each of a job's assets to each of its products that still exist (the first product is the primary one), inside
-- the completion's transaction. A product the app deleted is skipped, never an error; an existing link is kept.
-- Returns the product ids that were skipped, for a warning.
WITH product_ids AS (
    SELECT pid, ord FROM unnest(@ProductIds::text[]) WITH ORDINALITY AS p(pid, ord)
), linked AS (
    INSERT INTO generated_asset_product (id, generated_asset_id, product_id, is_primary)
    SELECT a.id || '_' || p.pid, a.id, p.pid, p.ord = 1
    FROM unnest(@AssetIds::text[]) AS a(id)
    CROSS JOIN product_ids p
    WHERE EXISTS (SELECT 1 FROM product WHERE product.id = p.pid)
    ON CONFLICT DO NOTHING
)
SELECT p.pid FROM product_ids p WHERE NOT EXISTS (SELECT 1 FROM product WHERE product.id = p.pid);
