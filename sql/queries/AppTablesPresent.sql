-- Whether the web app's asset tables exist in this database (the app creates and migrates them, never the service).
SELECT to_regclass('generated_asset') IS NOT NULL
   AND to_regclass('generated_asset_product') IS NOT NULL
   AND to_regclass('generation_flow') IS NOT NULL
   AND to_regclass('collection_session') IS NOT NULL
   AND to_regclass('product') IS NOT NULL;
