"""The facet summary: CategoryFacetCount, kept by PostgreSQL triggers in the statement that
changes a product or a category, whoever writes (ORM, bulk actions, the import, raw SQL).

- products_categoryfacetcount counts the visible products (active, in an active category) per
  category, stock state, whole star (floor(rating_average)) and price bucket. A product counts
  in its own category's rows and in every ancestor's: the facets of a category page read that
  category's rows only. Rows whose count falls to 0 are deleted.
- products_facet_price_edges holds, in one row, the price bucket edges the summary was counted
  with (settings.CATALOGUE_PRICE_BUCKETS then). The triggers bucket prices with them, and the
  facets read them in the same query as the counts and use the summary only when they equal
  the settings'. ``manage.py rebuild_facet_counts`` (and ``migrate``, when they differ) store
  the settings' edges and recount.
- After each INSERT, UPDATE or DELETE statement on products, the trigger takes the rows before
  the statement out (-1) and those after it in (+1), per category and facet values; an edit
  that moves no product to another row (a review that keeps the average in its whole star, a
  new name) nets to nothing and touches no summary row. The rest is rolled up to the
  categories' ancestors and written in key order (INSERT ... ON CONFLICT, no deadlock between
  two writers).
- TRUNCATE of products (which fires no DELETE trigger) empties the summary.
- After an UPDATE of categories, each one moved (a new path: the moved category in the
  statement, its descendants in the nested statement of the path trigger) or (de)activated
  takes its own products out of its old ancestors (old path, if it was active) and into its new
  ones (new path, if it is active). A deleted category takes its own products out: products
  still in it make the transaction fail at commit (the foreign key), unless the same
  transaction deletes or moves them, which then counts nothing twice.
- The product trigger locks the products' categories (FOR SHARE) before it rolls up by their
  path and is_active: a concurrent move or (de)activation waits for its transaction, or it for
  theirs, so that each counts the other's outcome.

The migration backfills the summary in one INSERT ... SELECT. The triggers are created first,
in the same transaction, and CREATE TRIGGER locks out writes to products and categories until
it commits: nothing is written in between that the backfill would miss.
"""

from decimal import Decimal

import django.db.models.deletion
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import migrations, models

TRIGGERS = """
CREATE TABLE products_facet_price_edges (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),  -- one row
    edges numeric[] NOT NULL
);

-- A change of one summary row's count.
CREATE TYPE products_facet_change AS (
    category_id bigint,
    in_stock boolean,
    rating_floor smallint,
    price_bucket smallint,
    products integer
);

CREATE FUNCTION products_facet_counts_apply(changes products_facet_change[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    emptied bigint[];
    below_zero bigint;
BEGIN
    -- The changes of one row are summed, and a row whose changes cancel out is not written
    -- (nor locked). The others are written in key order: two writers lock rows in one order.
    WITH netted AS (
        SELECT category_id, in_stock, rating_floor, price_bucket,
               sum(products)::integer AS products
        FROM unnest(changes)
        GROUP BY category_id, in_stock, rating_floor, price_bucket
        HAVING sum(products) <> 0
    ), written AS (
        INSERT INTO products_categoryfacetcount AS facet
            (category_id, in_stock, rating_floor, price_bucket, products)
        SELECT category_id, in_stock, rating_floor, price_bucket, products
        FROM netted
        ORDER BY category_id, in_stock, rating_floor, price_bucket
        ON CONFLICT (category_id, in_stock, rating_floor, price_bucket)
        DO UPDATE SET products = facet.products + excluded.products
        RETURNING facet.id, facet.category_id, facet.products
    )
    SELECT array_agg(id ORDER BY id) FILTER (WHERE products = 0),
           min(category_id) FILTER (WHERE products < 0)
    INTO emptied, below_zero
    FROM written;
    -- Not a CHECK constraint: PostgreSQL tests one on the row an INSERT proposes (a change of
    -- -1) before it looks for the row to update.
    IF below_zero IS NOT NULL THEN
        RAISE EXCEPTION 'the facet counts of category % would fall below 0', below_zero
            USING ERRCODE = 'check_violation',
                  HINT = 'The summary has drifted: run manage.py rebuild_facet_counts.';
    END IF;
    -- A category without products has no rows, so that deleting it leaves none behind. The
    -- rows are locked by the upsert: nobody can have counted into them since.
    IF emptied IS NOT NULL THEN
        DELETE FROM products_categoryfacetcount WHERE id = ANY (emptied);
    END IF;
END;
$$;

CREATE FUNCTION products_facet_edges() RETURNS numeric[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
    stored numeric[] := (SELECT edges FROM products_facet_price_edges);
BEGIN
    IF stored IS NULL THEN
        RAISE EXCEPTION 'products_facet_price_edges is empty'
            USING HINT = 'Run manage.py rebuild_facet_counts.';
    END IF;
    RETURN stored;
END;
$$;

CREATE FUNCTION products_product_facet_counts() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    edges numeric[] := products_facet_edges();
    own products_facet_change[];  -- by each product's own category
BEGIN
    -- Active products only (their category's is_active is read below): each one's row before
    -- the statement counts -1, after it +1.
    IF TG_OP = 'INSERT' THEN
        own := ARRAY(
            SELECT ROW(category_id, stock > 0, floor(rating_average)::smallint,
                       width_bucket(price, edges)::smallint, count(*)::integer
                   )::products_facet_change
            FROM new_rows
            WHERE is_active
            GROUP BY category_id, stock > 0, floor(rating_average), width_bucket(price, edges)
        );
    ELSIF TG_OP = 'DELETE' THEN
        own := ARRAY(
            SELECT ROW(category_id, stock > 0, floor(rating_average)::smallint,
                       width_bucket(price, edges)::smallint, -count(*)::integer
                   )::products_facet_change
            FROM old_rows
            WHERE is_active
            GROUP BY category_id, stock > 0, floor(rating_average), width_bucket(price, edges)
        );
    ELSE
        own := ARRAY(
            SELECT ROW(category_id, in_stock, rating_floor, price_bucket, sum(products)::integer
                   )::products_facet_change
            FROM (
                SELECT category_id, stock > 0 AS in_stock,
                       floor(rating_average)::smallint AS rating_floor,
                       width_bucket(price, edges)::smallint AS price_bucket, -1 AS products
                FROM old_rows
                WHERE is_active
                UNION ALL
                SELECT category_id, stock > 0, floor(rating_average)::smallint,
                       width_bucket(price, edges)::smallint, 1
                FROM new_rows
                WHERE is_active
            ) AS product
            GROUP BY category_id, in_stock, rating_floor, price_bucket
            HAVING sum(products) <> 0
        );
    END IF;
    IF cardinality(own) = 0 THEN
        RETURN NULL;  -- no product changed rows (a review within the same whole star, a rename)
    END IF;
    -- Rolled up to every ancestor by the categories' path now. Locked (FOR SHARE, in id order)
    -- until this transaction ends: a concurrent move or (de)activation of one of them waits for
    -- it and then counts these products as this statement left them; one that came first has
    -- committed, and its outcome is what is read here.
    PERFORM products_facet_counts_apply(ARRAY(
        SELECT ROW(ancestor, change.in_stock, change.rating_floor, change.price_bucket,
                   change.products)::products_facet_change
        FROM unnest(own) AS change
        JOIN (
            SELECT id, path, is_active
            FROM products_category
            WHERE id IN (SELECT category_id FROM unnest(own))
            ORDER BY id
            FOR SHARE
        ) AS category ON category.id = change.category_id
        CROSS JOIN LATERAL
            unnest(string_to_array(btrim(category.path, '/'), '/')::bigint[]) AS ancestor
        WHERE category.is_active
    ));
    RETURN NULL;
END;
$$;

CREATE TRIGGER products_product_facet_counts_insert
AFTER INSERT ON products_product
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_product_facet_counts();

CREATE TRIGGER products_product_facet_counts_update
AFTER UPDATE ON products_product
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_product_facet_counts();

CREATE TRIGGER products_product_facet_counts_delete
AFTER DELETE ON products_product
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_product_facet_counts();

-- TRUNCATE fires no DELETE trigger: the products are all gone, and so are the counts.
CREATE FUNCTION products_product_facet_counts_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM products_categoryfacetcount;
    RETURN NULL;
END;
$$;

CREATE TRIGGER products_product_facet_counts_truncate
AFTER TRUNCATE ON products_product
FOR EACH STATEMENT EXECUTE FUNCTION products_product_facet_counts_truncate();

CREATE FUNCTION products_category_facet_counts() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    edges numeric[] := products_facet_edges();
    -- Where each changed category's own products leave (-1) and enter (+1).
    category_ids bigint[];
    paths text[];
    signs integer[];
BEGIN
    IF TG_OP = 'DELETE' THEN
        SELECT array_agg(id), array_agg(path), array_agg(-1)
        INTO category_ids, paths, signs
        FROM old_rows
        WHERE is_active;
    ELSE
        -- A move changes the path (the path trigger rewrites the descendants' in a nested
        -- statement, which comes through here too); a new name or slug changes nothing.
        SELECT array_agg(side.category_id), array_agg(side.path), array_agg(side.sign)
        INTO category_ids, paths, signs
        FROM old_rows AS before
        JOIN new_rows AS after ON after.id = before.id
        CROSS JOIN LATERAL (
            SELECT before.id, before.path, -1 WHERE before.is_active
            UNION ALL
            SELECT after.id, after.path, 1 WHERE after.is_active
        ) AS side (category_id, path, sign)
        WHERE before.path IS DISTINCT FROM after.path
            OR before.is_active IS DISTINCT FROM after.is_active;
    END IF;
    IF category_ids IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM products_facet_counts_apply(ARRAY(
        SELECT ROW(ancestor, own.in_stock, own.rating_floor, own.price_bucket,
                   side.sign * own.products)::products_facet_change
        FROM (
            SELECT category_id, stock > 0 AS in_stock,
                   floor(rating_average)::smallint AS rating_floor,
                   width_bucket(price, edges)::smallint AS price_bucket,
                   count(*)::integer AS products
            FROM products_product
            WHERE category_id = ANY (category_ids) AND is_active
            GROUP BY 1, 2, 3, 4
        ) AS own
        JOIN unnest(category_ids, paths, signs) AS side (category_id, path, sign)
            ON side.category_id = own.category_id
        CROSS JOIN LATERAL
            unnest(string_to_array(btrim(side.path, '/'), '/')::bigint[]) AS ancestor
    ));
    RETURN NULL;
END;
$$;

CREATE TRIGGER products_category_facet_counts_update
AFTER UPDATE ON products_category
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_category_facet_counts();

CREATE TRIGGER products_category_facet_counts_delete
AFTER DELETE ON products_category
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_category_facet_counts();
"""

DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS products_category_facet_counts_delete ON products_category;
DROP TRIGGER IF EXISTS products_category_facet_counts_update ON products_category;
DROP FUNCTION IF EXISTS products_category_facet_counts();
DROP TRIGGER IF EXISTS products_product_facet_counts_delete ON products_product;
DROP TRIGGER IF EXISTS products_product_facet_counts_update ON products_product;
DROP TRIGGER IF EXISTS products_product_facet_counts_insert ON products_product;
DROP TRIGGER IF EXISTS products_product_facet_counts_truncate ON products_product;
DROP FUNCTION IF EXISTS products_product_facet_counts_truncate();
DROP FUNCTION IF EXISTS products_product_facet_counts();
DROP FUNCTION IF EXISTS products_facet_edges();
DROP FUNCTION IF EXISTS products_facet_counts_apply(products_facet_change[]);
DROP TYPE IF EXISTS products_facet_change;
DROP TABLE IF EXISTS products_facet_price_edges;
"""

# Every visible product, per own category and facet values, rolled up to every ancestor.
COUNT_ALL = """
INSERT INTO products_categoryfacetcount
    (category_id, in_stock, rating_floor, price_bucket, products)
SELECT ancestor, own.in_stock, own.rating_floor, own.price_bucket, sum(own.products)
FROM (
    SELECT product.category_id, product.stock > 0 AS in_stock,
           floor(product.rating_average)::smallint AS rating_floor,
           width_bucket(product.price, stored.edges)::smallint AS price_bucket,
           count(*) AS products
    FROM products_product AS product
    CROSS JOIN products_facet_price_edges AS stored
    WHERE product.is_active
    GROUP BY 1, 2, 3, 4
) AS own
JOIN products_category AS category ON category.id = own.category_id AND category.is_active
CROSS JOIN LATERAL unnest(string_to_array(btrim(category.path, '/'), '/')::bigint[]) AS ancestor
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3, 4
"""


def count_products(apps, schema_editor):  # type: ignore[no-untyped-def]
    # As apps.products.facets reads them: the same Decimals as the live facets' buckets.
    edges = [Decimal(edge) for edge in settings.CATALOGUE_PRICE_BUCKETS]
    if not edges or edges[0] <= 0 or edges != sorted(set(edges)):
        raise ImproperlyConfigured("CATALOGUE_PRICE_BUCKETS must be increasing positive numbers.")
    schema_editor.execute("INSERT INTO products_facet_price_edges (edges) VALUES (%s)", [edges])
    schema_editor.execute(COUNT_ALL)


class Migration(migrations.Migration):
    dependencies = [
        ("products", "0005_facet_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="CategoryFacetCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("in_stock", models.BooleanField()),
                ("rating_floor", models.PositiveSmallIntegerField()),
                ("price_bucket", models.PositiveSmallIntegerField()),
                ("products", models.IntegerField()),
                (
                    "category",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="products.category",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("category", "in_stock", "rating_floor", "price_bucket"),
                        name="categoryfacetcount_key",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("rating_floor__lte", 5)),
                        name="categoryfacetcount_rating_floor_max",
                    ),
                ],
            },
        ),
        migrations.RunSQL(TRIGGERS, DROP_TRIGGERS),
        migrations.RunPython(count_products, migrations.RunPython.noop),
    ]
