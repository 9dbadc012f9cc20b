-- The price bucket edges the facet summary (products_categoryfacetcount) was counted with, in
-- one row. The facet triggers bucket prices with them; apps.products.facets uses the summary
-- only while they equal settings.CATALOGUE_PRICE_BUCKETS, and
-- apps.products.services.facet_counts_rebuild stores the settings' edges and recounts.
-- A change of this file needs a migration: see docs/database.md.

CREATE TABLE products_facet_price_edges (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),  -- one row
    edges numeric[] NOT NULL
);
