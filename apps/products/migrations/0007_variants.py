"""Variants (issue 13): every product gets one, and becomes the summary of its variants.

- ``Product.price_max`` and ``Product.variant_count`` are added (1 for every product: the
  column's default fills them without a rewrite); ``price_max`` is set to ``price``.
- ``products_variant`` is created (its foreign key to the product ``ON DELETE CASCADE`` in the
  database as well as in Django) and filled in one ``INSERT ... SELECT``: one variant per
  product, with its SKU, price and stock, active, position 0, no options.
- Then the triggers (frozen copies of apps/products/sql/, see docs/database.md):
  products_product_variant_defaults (a new product is its one variant's summary),
  products_product_default_variant (each new product gets that variant),
  products_variant_summarize (after each statement on variants, the products' summary),
  products_product_variant_write_through (a product's price, stock or SKU written through to
  its only variant), products_product_check_variant_summary (refused on a product with several
  variants), products_product_requires_variant (at commit, a product keeps a variant).

The ``price_max`` UPDATE fires the products' search and facet triggers, which find nothing
to do (no text changed, no facet moved). The ALTER TABLE of AddField holds the table's exclusive
lock until the migration commits, so no write slips in between the backfill and the triggers.

Reversing drops the triggers, the variants and the two columns; the products kept their price,
stock and SKU.

On a 100k-product database (benchmarks/generate_catalogue.py, PostgreSQL 15, 2 shared cores)
``migrate`` takes 17 s: the price_max UPDATE about 13 s (it rewrites every product row and its
indexes), the variants' INSERT 1.4 s, the rest under 2 s.
"""

from decimal import Decimal

import django.contrib.postgres.fields
import django.core.validators
import django.db.models.deletion
import django.db.models.functions.text
from django.db import migrations, models

import apps.products.models

# The variants' foreign key (the model's has db_constraint=False): Django deletes a product's
# variants before the product; the database does too, for a writer that deletes products with
# SQL.
FOREIGN_KEY = """
ALTER TABLE products_variant
    ADD CONSTRAINT products_variant_product_fk
        FOREIGN KEY (product_id) REFERENCES products_product (id)
        ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;
"""
DROP_FOREIGN_KEY = """
ALTER TABLE products_variant DROP CONSTRAINT products_variant_product_fk;
"""

BACKFILL = """
UPDATE products_product SET price_max = price WHERE price_max IS DISTINCT FROM price;
INSERT INTO products_variant
    (created_at, updated_at, product_id, sku, price, stock, is_active, position, option_ids)
SELECT created_at, updated_at, id, sku, price, stock, true, 0, '{}'
FROM products_product
ORDER BY id;
"""

TRIGGERS = """
CREATE OR REPLACE FUNCTION products_product_variant_defaults() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.variant_count := 1;
    END IF;
    NEW.price_max := NEW.price;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER products_product_variant_defaults_insert
BEFORE INSERT ON products_product
FOR EACH ROW EXECUTE FUNCTION products_product_variant_defaults();

CREATE OR REPLACE TRIGGER products_product_variant_defaults_update
BEFORE UPDATE ON products_product
FOR EACH ROW
WHEN (NEW.variant_count = 1 AND NEW.price_max IS DISTINCT FROM NEW.price)
EXECUTE FUNCTION products_product_variant_defaults();

CREATE OR REPLACE FUNCTION products_product_default_variant() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO products_variant
        (created_at, updated_at, product_id, sku, price, stock, is_active, position, option_ids)
    SELECT created_at, updated_at, id, sku, price, stock, true, 0, '{}'
    FROM new_rows
    ORDER BY id;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER products_product_default_variant
AFTER INSERT ON products_product
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_product_default_variant();

CREATE OR REPLACE FUNCTION products_variant_summarize() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    touched bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        touched := ARRAY(SELECT DISTINCT product_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        touched := ARRAY(SELECT DISTINCT product_id FROM old_rows);
    ELSE
        touched := ARRAY(SELECT product_id FROM old_rows UNION SELECT product_id FROM new_rows);
    END IF;
    IF cardinality(touched) = 0 THEN
        -- A statement that changed no row still fires: without this, the write-through
        -- trigger's empty UPDATE and this one's would fire each other without end.
        RETURN NULL;
    END IF;
    UPDATE products_product AS product
    SET price = summary.price,
        price_max = summary.price_max,
        stock = summary.stock,
        sku = summary.sku,
        variant_count = summary.variant_count
    FROM (
        SELECT product_id,
               coalesce(min(price) FILTER (WHERE is_active), min(price)) AS price,
               coalesce(max(price) FILTER (WHERE is_active), max(price)) AS price_max,
               least(coalesce(sum(stock) FILTER (WHERE is_active), 0), 2147483647)::integer
                   AS stock,
               (array_agg(sku ORDER BY position, id))[1] AS sku,
               count(*)::integer AS variant_count
        FROM products_variant
        WHERE product_id = ANY (touched)
        GROUP BY product_id
    ) AS summary
    WHERE product.id = summary.product_id
        AND (product.price, product.price_max, product.stock, product.sku, product.variant_count)
            IS DISTINCT FROM
            (summary.price, summary.price_max, summary.stock, summary.sku, summary.variant_count);
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER products_variant_summary_insert
AFTER INSERT ON products_variant
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_variant_summarize();

CREATE OR REPLACE TRIGGER products_variant_summary_update
AFTER UPDATE ON products_variant
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_variant_summarize();

CREATE OR REPLACE TRIGGER products_variant_summary_delete
AFTER DELETE ON products_variant
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_variant_summarize();

CREATE OR REPLACE FUNCTION products_product_variant_write_through() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM new_rows) THEN
        -- A statement that changed no row still fires: without this, the summary trigger's
        -- empty UPDATE and this one's would fire each other without end.
        RETURN NULL;
    END IF;
    UPDATE products_variant AS variant
    SET price = product.price,
        stock = CASE
            WHEN product.stock IS DISTINCT FROM
                CASE WHEN variant.is_active THEN variant.stock ELSE 0 END
            THEN product.stock
            ELSE variant.stock
        END,
        sku = product.sku,
        updated_at = now()
    FROM new_rows AS product
    WHERE variant.product_id = product.id
        AND (product.price IS DISTINCT FROM variant.price
            OR product.sku IS DISTINCT FROM variant.sku
            OR product.stock IS DISTINCT FROM
                CASE WHEN variant.is_active THEN variant.stock ELSE 0 END)
        AND NOT EXISTS (
            SELECT FROM products_variant AS other
            WHERE other.product_id = product.id AND other.id <> variant.id
        );
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER products_product_variant_write_through
AFTER UPDATE ON products_product
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_product_variant_write_through();

CREATE OR REPLACE FUNCTION products_product_check_variant_summary() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    summary record;
BEGIN
    SELECT coalesce(min(price) FILTER (WHERE is_active), min(price)) AS price,
           least(coalesce(sum(stock) FILTER (WHERE is_active), 0), 2147483647)::integer
               AS stock,
           (array_agg(sku ORDER BY position, id))[1] AS sku,
           count(*) AS variants
    INTO summary
    FROM products_variant
    WHERE product_id = NEW.id;
    IF summary.variants <= 1 THEN
        RETURN NEW;
    END IF;
    IF NEW.price IS DISTINCT FROM OLD.price AND NEW.price IS DISTINCT FROM summary.price THEN
        RAISE EXCEPTION 'product % has several variants: change their prices', NEW.id
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'products_product_price_from_variants';
    END IF;
    IF NEW.stock IS DISTINCT FROM OLD.stock AND NEW.stock IS DISTINCT FROM summary.stock THEN
        RAISE EXCEPTION 'product % has several variants: change their stock', NEW.id
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'products_product_stock_from_variants';
    END IF;
    IF NEW.sku IS DISTINCT FROM OLD.sku AND NEW.sku IS DISTINCT FROM summary.sku THEN
        RAISE EXCEPTION 'product % has several variants: change their SKUs', NEW.id
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'products_product_sku_from_variants';
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER products_product_check_variant_summary
BEFORE UPDATE ON products_product
FOR EACH ROW
WHEN ((OLD.variant_count > 1 OR NEW.variant_count > 1)
    AND (OLD.price IS DISTINCT FROM NEW.price
        OR OLD.stock IS DISTINCT FROM NEW.stock
        OR OLD.sku IS DISTINCT FROM NEW.sku))
EXECUTE FUNCTION products_product_check_variant_summary();

CREATE OR REPLACE FUNCTION products_variant_require_one() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM products_product WHERE id = OLD.product_id)
        AND NOT EXISTS (SELECT FROM products_variant WHERE product_id = OLD.product_id) THEN
        RAISE EXCEPTION 'product % would have no variant', OLD.product_id
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'products_product_requires_variant';
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER products_product_requires_variant
AFTER DELETE OR UPDATE OF product_id ON products_variant
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION products_variant_require_one();
"""

DROP_TRIGGERS = """
DROP TRIGGER products_product_requires_variant ON products_variant;
DROP FUNCTION products_variant_require_one();
DROP TRIGGER products_product_check_variant_summary ON products_product;
DROP FUNCTION products_product_check_variant_summary();
DROP TRIGGER products_product_variant_write_through ON products_product;
DROP FUNCTION products_product_variant_write_through();
DROP TRIGGER products_variant_summary_insert ON products_variant;
DROP TRIGGER products_variant_summary_update ON products_variant;
DROP TRIGGER products_variant_summary_delete ON products_variant;
DROP FUNCTION products_variant_summarize();
DROP TRIGGER products_product_default_variant ON products_product;
DROP FUNCTION products_product_default_variant();
DROP TRIGGER products_product_variant_defaults_insert ON products_product;
DROP TRIGGER products_product_variant_defaults_update ON products_product;
DROP FUNCTION products_product_variant_defaults();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("products", "0006_category_facet_count"),
    ]

    operations = [
        migrations.AddField(
            model_name="product",
            name="price_max",
            field=apps.products.models.ReturningDecimalField(
                decimal_places=2, default=Decimal("0"), editable=False, max_digits=10
            ),
        ),
        migrations.AddField(
            model_name="product",
            name="variant_count",
            field=apps.products.models.ReturningIntegerField(default=1, editable=False),
        ),
        migrations.CreateModel(
            name="Variant",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("sku", models.CharField(max_length=64, unique=True, verbose_name="SKU")),
                (
                    "price",
                    models.DecimalField(
                        decimal_places=2,
                        max_digits=10,
                        validators=[django.core.validators.MinValueValidator(Decimal("0"))],
                    ),
                ),
                (
                    "stock",
                    models.IntegerField(
                        default=0, validators=[django.core.validators.MinValueValidator(0)]
                    ),
                ),
                ("is_active", models.BooleanField(default=True)),
                ("position", models.PositiveSmallIntegerField(default=0)),
                (
                    "option_ids",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.BigIntegerField(), blank=True, default=list, size=None
                    ),
                ),
                (
                    "product",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="variants",
                        db_constraint=False, to="products.product",
                    ),
                ),
            ],
            options={
                "ordering": ["position", "id"],
                "indexes": [
                    models.Index(fields=["product", "position", "id"], name="variant_order"),
                    models.Index(
                        django.db.models.functions.text.Upper("sku"), name="variant_sku_upper"
                    ),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("price__gte", 0)),
                        name="products_variant_price_not_negative",
                        violation_error_message="Price cannot be negative.",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("stock__gte", 0)),
                        name="products_variant_stock_not_negative",
                        violation_error_message="Stock cannot be negative.",
                    ),
                    models.UniqueConstraint(
                        fields=("product", "option_ids"),
                        name="products_variant_unique_options",
                        violation_error_message="This product already has a variant with these options.",
                    ),
                ],
            },
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        # After the backfill: a deferred foreign key's checks of the INSERT would be pending
        # events, which the indexes Django creates at the end of the migration refuse.
        migrations.RunSQL(FOREIGN_KEY, DROP_FOREIGN_KEY),
        migrations.RunSQL(TRIGGERS, DROP_TRIGGERS),
    ]
