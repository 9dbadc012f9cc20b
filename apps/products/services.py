import logging
import uuid
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.files.storage import default_storage
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.db.models import F, Max, QuerySet
from django.db.models.expressions import Combinable
from django.utils import timezone
from django.utils.text import slugify

from apps.attributes.models import ProductType, ProductTypeAttribute
from apps.core.limits import largest_decimal
from apps.core.services import audit_insert_sql, audit_parameters, audit_record
from apps.core.transactions import retry_on_write_conflict
from apps.users.models import User

from .attribute_values import (
    OPTIONS_FIELD,
    TypeAttributes,
    product_attributes_validate,
    variant_options_resolve,
)
from .facets import PRICE_EDGES_TABLE, configured_price_edges
from .models import (
    CATEGORY_CYCLE_MESSAGE,
    NON_FIELD_ERRORS_KEY,
    PRODUCT_SUMMARY_RULES,
    REQUIRES_VARIANT_MESSAGE,
    SEVERAL_VARIANTS_MESSAGE,
    SUMMARY_FIELD_PLURALS,
    TYPE_KEEPS_VALUES_MESSAGE,
    VARIANT_OPTIONS_FIELD,
    VARIANT_UNIQUE_OPTIONS_MESSAGE,
    Category,
    Product,
    ProductAttributeValue,
    ProductImage,
    Variant,
)

CatalogueItem = TypeVar("CatalogueItem", Category, Product)

logger = logging.getLogger(__name__)

POSITION_MAX = 32767  # a PositiveSmallIntegerField


def _unique_slug(
    model: type[Category] | type[Product], text: str, *, exclude_pk: int | None
) -> str:
    """Return ``slugify(text)``, suffixed with -2, -3 ... until no other row uses it."""
    max_length = model._meta.get_field("slug").max_length or 50
    base = slugify(text)[: max_length - 8] or "item"
    others = model.objects.filter(slug__startswith=base)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    taken = set(others.values_list("slug", flat=True))
    candidate, suffix = base, 2
    while candidate in taken:
        candidate, suffix = f"{base}-{suffix}", suffix + 1
    return candidate


def _save_changes(instance: CatalogueItem, changes: dict[str, Any]) -> CatalogueItem:
    """Apply ``changes`` and save; a blank slug is derived anew from the (new) name."""
    if changes.get("slug") == "":
        name = changes.get("name", instance.name)
        changes["slug"] = _unique_slug(type(instance), name, exclude_pk=instance.pk)
    for field, value in changes.items():
        setattr(instance, field, value)
    instance.save()
    return instance


def category_validate_parent(*, category: Category | None, parent: Category | None) -> None:
    """Refuse a parent that is the category itself or one of its descendants."""
    if category is None or category.pk is None or parent is None:
        return
    if f"/{category.pk}/" in parent.path:  # the parent is the category or below it
        raise ValidationError({"parent": CATEGORY_CYCLE_MESSAGE})


@retry_on_write_conflict
@transaction.atomic
def category_create(
    *,
    name: str,
    parent: Category | None = None,
    slug: str = "",
    description: str = "",
    is_active: bool = True,
) -> Category:
    """Create a category; the slug is derived from the name when not given."""
    return Category.objects.create(
        name=name,
        slug=slug or _unique_slug(Category, name, exclude_pk=None),
        parent=parent,
        description=description,
        is_active=is_active,
    )


def _lock_subtree_for_move(category: Category) -> None:
    """Take the tree lock, then lock ``category`` and its descendants in id order.

    Left to the triggers, a move locks the category, then the tree (the path trigger), then
    each descendant in the order it finds them; a product write locks its products'
    categories in id order (the facet trigger, FOR SHARE). A move and a write to products of
    two categories of the subtree could so each hold a row the other needs, and deadlock.
    Locked first, in the writers' order, one waits for the other instead.
    """
    with connection.cursor() as cursor:
        # The path trigger's lock (products_category_set_path), which serialises tree moves.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('products_category_tree'))")
    subtree = Category.objects.subtree_of(category).order_by("pk").select_for_update()
    list(subtree.values_list("pk", flat=True))


@retry_on_write_conflict
@transaction.atomic
def category_update(*, category: Category, **changes: Any) -> Category:
    """Change a category; moving it under a new parent moves its whole subtree with it."""
    if "parent" in changes:
        category_validate_parent(category=category, parent=changes["parent"])
        if getattr(changes["parent"], "pk", None) != category.parent_id:
            _lock_subtree_for_move(category)
    _save_changes(category, changes)
    category.refresh_from_db(fields=["path"])  # the database rewrote it if the category moved
    return category


@retry_on_write_conflict
@transaction.atomic
def product_create(
    *,
    created_by: User | None,
    name: str,
    category: Category,
    sku: str | None = None,
    price: Decimal | None = None,
    slug: str = "",
    description: str = "",
    stock: int | None = None,
    is_active: bool = True,
    product_type: ProductType | None = None,
    attributes: Any = None,
    variants: list[dict[str, Any]] | None = None,
) -> Product:
    """Create a product of ``product_type`` (or none) with its ``attributes``
    (``{slug: value}``); the slug is derived from the name when not given.

    Without ``variants`` the product has one variant with its ``sku``, ``price`` and ``stock``
    (its type then has no axes). With ``variants`` (``[{sku, price, stock, is_active, position,
    options: {axis_slug: option_slug}}]``) those are its variants and its ``sku``, ``price`` and
    ``stock`` their summary, not given. Errors name the nested field: ``variants[2].options.size``,
    ``attributes.colour``.
    """
    loaded = TypeAttributes.load(product_type)
    values = product_attributes_validate(product_type, attributes, loaded=loaded)
    if variants:
        given = [
            field
            for field, value in (("sku", sku), ("price", price), ("stock", stock))
            if value is not None
        ]
        if given:
            raise ValidationError(
                dict.fromkeys(given, "Give it per variant: the product's is its variants' summary.")
            )
        rows = _variant_rows(loaded, variants)
        first = rows[0]
        sku, price, stock = first.sku, first.price, first.stock
    else:
        missing = {
            field: "This field is required."
            for field, value in (("sku", sku), ("price", price))
            if value is None
        }
        if missing:
            raise ValidationError(missing)
        if loaded.axes:
            raise ValidationError(
                {VARIANTS_FIELD: "This product type has variant axes: give the variants."}
            )
        rows = []
    product = Product.objects.create(
        name=name,
        slug=slug or _unique_slug(Product, name, exclude_pk=None),
        sku=sku,
        description=description,
        price=price,
        stock=stock or 0,
        is_active=is_active,
        category=category,
        created_by=created_by,
        product_type=product_type,
    )
    _save_values(product, values)
    if rows:
        # The product's first variant (made by the database with its SKU, price and stock)
        # becomes the first given; the others are added.
        first = rows[0]
        Variant.objects.filter(product_id=product.pk).update(
            option_ids=first.option_ids, is_active=first.is_active, position=first.position
        )
        for row in rows[1:]:
            row.product_id = product.pk
        Variant.objects.bulk_create(rows[1:])
        product.refresh_from_db(fields=_SUMMARY_FIELDS)
    check_variant_options()
    return product


VARIANTS_FIELD = "variants"


def _variant_rows(loaded: TypeAttributes, variants: list[dict[str, Any]]) -> list[Variant]:
    """Return the given variants as unsaved rows, their options resolved, or raise the errors
    of all of them, each named ``variants[<index>].<field>``."""
    limit = settings.CATALOGUE_MAX_VARIANTS_PER_PRODUCT
    if len(variants) > limit:
        raise ValidationError({VARIANTS_FIELD: f"A product has at most {limit} variants."})
    errors: dict[str, list[str]] = {}
    rows: list[Variant] = []
    seen_options: dict[tuple[int, ...], int] = {}
    seen_skus: dict[str, int] = {}
    for index, variant in enumerate(variants):
        path = f"{VARIANTS_FIELD}[{index}]"
        try:
            option_ids = variant_options_resolve(loaded, variant.get("options"))
        except ValidationError as error:
            for key, messages in error.message_dict.items():
                errors.setdefault(f"{path}.{key}", []).extend(messages)
            option_ids = []
        else:
            if tuple(option_ids) in seen_options:
                errors.setdefault(f"{path}.{OPTIONS_FIELD}", []).append(
                    f"Variant {seen_options[tuple(option_ids)]} has these options already."
                )
            seen_options.setdefault(tuple(option_ids), index)
        sku_key = variant["sku"].upper()
        if sku_key in seen_skus:
            errors.setdefault(f"{path}.sku", []).append(
                f"Variant {seen_skus[sku_key]} has this SKU already."
            )
        seen_skus.setdefault(sku_key, index)
        rows.append(
            Variant(
                sku=variant["sku"],
                price=variant["price"],
                stock=variant.get("stock", 0),
                is_active=variant.get("is_active", True),
                position=variant.get("position", index),
                option_ids=option_ids,
            )
        )
    taken = set(
        Variant.objects.filter(sku__in=[row.sku for row in rows]).values_list("sku", flat=True)
    )
    for index, row in enumerate(rows):
        if row.sku in taken:
            errors.setdefault(f"{VARIANTS_FIELD}[{index}].sku", []).append(
                "A variant with this SKU already exists."
            )
    if errors:
        raise ValidationError(errors)
    return rows


def _save_values(product: Product, values: list[ProductAttributeValue]) -> None:
    for value in values:
        value.product = product
    ProductAttributeValue.objects.bulk_create(values)


def check_variant_options() -> None:
    """Check the variants' options now rather than at commit (the deferred trigger
    products_variant_options): a service reports it as its own error, in its transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SET CONSTRAINTS products_variant_options, products_product_variant_options IMMEDIATE;"
            " SET CONSTRAINTS products_variant_options, products_product_variant_options DEFERRED"
        )


def product_validate_summary_changes(*, product: Product, changes: dict[str, Any]) -> None:
    """Refuse a change of price, stock or SKU on a product with several variants: those are
    its variants' summary (on a product with one, they are written through to it)."""
    if product.pk is None or not product.has_several_variants:
        return
    errors = {
        field: SEVERAL_VARIANTS_MESSAGE.format(SUMMARY_FIELD_PLURALS[field])
        for field in PRODUCT_SUMMARY_RULES
        if field in changes and changes[field] != getattr(product, field)
    }
    if errors:
        raise ValidationError(errors)


# The columns the database may rewrite when a product is saved: the variants' summary.
_SUMMARY_FIELDS = ["price", "price_max", "stock", "sku", "variant_count"]


@retry_on_write_conflict
@transaction.atomic
def product_update(*, product: Product, **changes: Any) -> Product:
    """Change a product's own fields; rating figures are not among them. Price, stock and SKU
    change its one variant, and are refused on a product with several.

    ``attributes`` (``{slug: value}``) replaces all of the product's values; a new
    ``product_type`` without them keeps the values, which must fit it."""
    product_validate_summary_changes(product=product, changes=changes)
    attributes = changes.pop("attributes", None) if "attributes" in changes else _KEEP
    product_type = changes.get("product_type", product.product_type)
    if attributes is not _KEEP:
        values = product_attributes_validate(product_type, attributes)
        # Before the type changes: the old values need not fit the new type.
        ProductAttributeValue.objects.filter(product_id=product.pk).delete()
    elif "product_type" in changes and changes["product_type"] != product.product_type:
        _check_values_fit(product, product_type)
    _save_changes(product, changes)
    if attributes is not _KEEP:
        _save_values(product, values)
    product.refresh_from_db(fields=_SUMMARY_FIELDS)
    check_variant_options()
    return product


_KEEP = object()


def _check_values_fit(product: Product, product_type: ProductType | None) -> None:
    kept = ProductAttributeValue.objects.filter(product_id=product.pk)
    if product_type is not None:
        fitting = ProductTypeAttribute.objects.filter(
            product_type=product_type, is_axis=False
        ).values("attribute_id")
        kept = kept.exclude(attribute_id__in=fitting)
    if kept.exists():
        raise ValidationError({"product_type": TYPE_KEEPS_VALUES_MESSAGE})


# --- variants -------------------------------------------------------------------------------------


def _lock_product(product_id: int) -> Product:
    """Lock the product (FOR UPDATE) and return it with its variant count: writers of one
    product's variants go one at a time, so the cap and the checks below hold."""
    return (
        Product.objects.select_for_update(of=("self",))
        .select_related("product_type")
        .only("pk", "variant_count", "product_type")
        .get(pk=product_id)
    )


def _resolve_options(product: Product, options: Any) -> list[int]:
    """Return the sorted ids of ``options`` (``{axis_slug: option_slug}``) on the axes of
    ``product``'s type (loaded with it by ``_lock_product``), or raise the errors naming
    ``options.<axis_slug>``."""
    return variant_options_resolve(TypeAttributes.load(product.product_type), options)


def _touch_product(product_id: int) -> None:
    # The product's page shows its variants: its Last-Modified moves with them.
    Product.objects.filter(pk=product_id).update(updated_at=timezone.now())


def _check_options_free(*, product_id: int, option_ids: list[int], variant_id: int | None) -> None:
    others = Variant.objects.filter(product_id=product_id, option_ids=option_ids)
    if variant_id is not None:
        others = others.exclude(pk=variant_id)
    if others.exists():
        raise ValidationError({VARIANT_OPTIONS_FIELD: VARIANT_UNIQUE_OPTIONS_MESSAGE})


@retry_on_write_conflict
@transaction.atomic
def variant_create(
    *,
    product: Product,
    sku: str,
    price: Decimal,
    stock: int = 0,
    is_active: bool = True,
    position: int | None = None,
    options: Any = None,
) -> Variant:
    """Add a variant to ``product`` (by default last), with one option of each axis of its
    type (``options``: ``{axis_slug: option_slug}``), at most
    ``CATALOGUE_MAX_VARIANTS_PER_PRODUCT`` of them; the product's summary follows."""
    locked = _lock_product(product.pk)
    limit = settings.CATALOGUE_MAX_VARIANTS_PER_PRODUCT
    if locked.variant_count >= limit:
        raise ValidationError(
            {NON_FIELD_ERRORS_KEY: f"A product has at most {limit} variants; this one has them."}
        )
    ids = _resolve_options(locked, options)
    _check_options_free(product_id=product.pk, option_ids=ids, variant_id=None)
    if position is None:
        last = Variant.objects.filter(product_id=product.pk).aggregate(last=Max("position"))
        position = min(0 if last["last"] is None else last["last"] + 1, POSITION_MAX)
    variant = Variant.objects.create(
        product_id=product.pk,
        sku=sku,
        price=price,
        stock=stock,
        is_active=is_active,
        position=position,
        option_ids=ids,
    )
    _touch_product(product.pk)
    check_variant_options()
    return variant


@retry_on_write_conflict
@transaction.atomic
def variant_update(*, variant: Variant, **changes: Any) -> Variant:
    """Change a variant (``options``: ``{axis_slug: option_slug}``, all of them); the
    product's summary follows."""
    locked = _lock_product(variant.product_id)
    if "options" in changes:
        changes["option_ids"] = _resolve_options(locked, changes.pop("options"))
        _check_options_free(
            product_id=variant.product_id, option_ids=changes["option_ids"], variant_id=variant.pk
        )
    for field, value in changes.items():
        setattr(variant, field, value)
    variant.save()
    _touch_product(variant.product_id)
    check_variant_options()
    return variant


# Not retried on a write conflict: Model.delete() clears the instance's pk, which a second
# run would need.
def variant_delete(*, variant: Variant) -> None:
    """Delete a variant, unless it is its product's last; the product's summary follows."""
    with transaction.atomic():
        _lock_product(variant.product_id)
        if Variant.objects.filter(product_id=variant.product_id).count() <= 1:
            raise ValidationError({NON_FIELD_ERRORS_KEY: REQUIRES_VARIANT_MESSAGE})
        product_id = variant.product_id
        variant.delete()
        _touch_product(product_id)


@transaction.atomic
def product_image_add(
    *, product: Product, image: Any, alt_text: str = "", position: int | None = None
) -> ProductImage:
    """Attach an (already validated) image to ``product``; by default it goes last."""
    if position is None:
        last = product.images.aggregate(last=Max("position"))["last"]
        position = 0 if last is None else last + 1
    picture = ProductImage.objects.create(
        product=product, image=image, alt_text=alt_text, position=position
    )
    Product.objects.filter(pk=product.pk).update(updated_at=timezone.now())
    return picture


@retry_on_write_conflict
@transaction.atomic
def product_image_update(*, image: ProductImage, **changes: Any) -> ProductImage:
    """Change an image's alt text or position; the product counts as modified."""
    for field, value in changes.items():
        setattr(image, field, value)
    image.save()
    Product.objects.filter(pk=image.product_id).update(updated_at=timezone.now())
    return image


# Not retried on a write conflict: Model.delete() clears the instance's pk, which a second
# run would need.
def product_image_delete(*, image: ProductImage) -> None:
    """Delete an image and, once the deletion is committed, its file."""
    with transaction.atomic():
        image.delete()
        Product.objects.filter(pk=image.product_id).update(updated_at=timezone.now())
        _delete_files_on_commit([image.image.name])


# Not retried on a write conflict: Model.delete() clears the instance's pk, which a second
# run would need.
def product_delete(*, product: Product) -> None:
    """Delete a product with its images and reviews and, once committed, the image files."""
    with transaction.atomic():
        names = list(product.images.values_list("image", flat=True))
        product.delete()
        _delete_files_on_commit(names)


def _delete_files_on_commit(names: list[str]) -> None:
    # After the commit: a rolled-back deletion must not lose the files its rows still name.
    def delete() -> None:
        for name in names:
            default_storage.delete(name)

    transaction.on_commit(delete)


def _audit_value(attname: str, value: Any, category_names: dict[int, str]) -> Any:
    """Return a field's value as the audit trail stores it: JSON, a category with its name."""
    if attname == "category_id":
        return {"id": value, "name": category_names.get(value, "")}
    if isinstance(value, Decimal):
        return str(value)
    return value


def _audit_name(attname: str) -> str:
    return Product._meta.get_field(attname).name


@retry_on_write_conflict
@transaction.atomic
def products_bulk_change(
    *,
    user: AbstractBaseUser | AnonymousUser,
    selection: QuerySet[Product],
    changes: dict[str, Combinable],
    audit_action: str,
    category_names: dict[int, str] | None = None,
) -> int:
    """Write ``changes`` (field -> SQL expression) to every selected product it changes, in one
    UPDATE, and record an audit entry for each; return how many products changed.

    Raise ValidationError, having written nothing, if a new decimal value (a price raised by a
    percentage) would not fit its column.
    """
    afters = {f"after_{name}": value for name, value in changes.items()}
    # Locked, in id order so that two bulk changes cannot deadlock: the new values read here
    # are then exactly those the UPDATE writes.
    changing = (
        Product.objects.filter(pk__in=selection.values("pk"))
        .annotate(**afters)
        .exclude(**{name: F(after) for name, after in zip(changes, afters, strict=True)})
        .select_related("category")
        .only("pk", "name", "sku", "category__name", *changes)
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    products = list(changing)
    if not products:
        return 0
    # Checked on the locked rows, not before the transaction: a price raised in between would
    # otherwise overflow in the UPDATE, a database error rather than a message.
    for name in changes:
        field = Product._meta.get_field(name)
        if not isinstance(field, models.DecimalField):
            continue
        limit = largest_decimal(field)
        too_large = sum(1 for product in products if getattr(product, f"after_{name}") > limit)
        if too_large:
            raise ValidationError(
                f"{too_large} of the selected products would have a {field.verbose_name} over "
                f"{limit}; nothing was changed.",
                code="overflow",
            )
    Product.objects.filter(pk__in=[product.pk for product in products]).update(
        **changes, updated_at=timezone.now()
    )
    names = {product.category_id: product.category.name for product in products}
    names |= category_names or {}
    audit_record(
        user=user,
        action=audit_action,
        batch=uuid.uuid4(),
        objects_before_after=(
            (
                product,
                {
                    _audit_name(name): _audit_value(name, getattr(product, name), names)
                    for name in changes
                },
                {
                    _audit_name(name): _audit_value(name, getattr(product, f"after_{name}"), names)
                    for name in changes
                },
            )
            for product in products
        ),
    )
    return len(products)


@retry_on_write_conflict
@transaction.atomic
def variants_bulk_change_price(
    *,
    user: AbstractBaseUser | AnonymousUser,
    selection: QuerySet[Product],
    new_price: Combinable,
    audit_action: str,
) -> int:
    """Write ``new_price`` (an SQL expression of the variant's ``price``) to every variant of the
    selected products in one UPDATE, and record an audit entry for each product whose price
    changed; return how many products had a variant changed.

    Raise ValidationError, having written nothing, if a new price would not fit its column.
    """
    products = {
        product.pk: product
        for product in Product.objects.filter(pk__in=selection.values("pk"))
        .only("pk", "name", "sku", "price")
        .select_for_update()
        .order_by("pk")
    }
    if not products:
        return 0
    changing = Variant.objects.filter(product_id__in=products).exclude(price=new_price)
    limit = largest_decimal(Variant._meta.get_field("price"))
    # Read on the locked products' variants: a price raised since the preview is seen here.
    afters = list(changing.annotate(after=new_price).values_list("product_id", "after"))
    too_large = len({product_id for product_id, after in afters if after > limit})
    if too_large:
        raise ValidationError(
            f"{too_large} of the selected products would have a price over {limit}; nothing "
            "was changed.",
            code="overflow",
        )
    changed_ids = {product_id for product_id, _ in afters}
    if not changed_ids:
        return 0
    now = timezone.now()
    changing.update(price=new_price, updated_at=now)
    # The products' new prices are their variants' summary, written by the UPDATE above
    # (products_variant_summarize): one statement touches the products and audits, from the
    # rows it returns, those whose price changed.
    ids = sorted(changed_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            _TOUCH_AND_AUDIT_PRICES,
            {
                "now": now,
                "ids": ids,
                "befores": [products[pk].price for pk in ids],
                **audit_parameters(
                    user=user, action=audit_action, model=Product, batch=uuid.uuid4()
                ),
            },
        )
    return len(changed_ids)


# Used by variants_bulk_change_price: the products' updated_at, and an audit entry (see
# audit_insert_sql) per product whose price moved from the one given, in one statement.
_TOUCH_AND_AUDIT_PRICES = f"""
WITH touched AS (
    UPDATE products_product AS product SET updated_at = %(now)s
    FROM unnest(%(ids)s::bigint[], %(befores)s::numeric[]) AS previous(id, price)
    WHERE product.id = previous.id
    RETURNING product.id, product.name, product.sku, product.price, previous.price AS before
),
entries AS (
    SELECT id::text AS object_id, name || ' (' || sku || ')' AS object_repr,
        jsonb_build_object('price', before::text) AS before,
        jsonb_build_object('price', price::text) AS after
    FROM touched
    WHERE price <> before
)
{audit_insert_sql(source="entries")}
"""


# --- the facet summary's upkeep -------------------------------------------------------------------

# Every visible product, per own category and facet values, rolled up to every ancestor: the
# counting of the triggers products_product_facet_counts_*, for all products at once (the
# migration that created them backfilled with the same).
_COUNT_ALL = f"""
INSERT INTO products_categoryfacetcount
    (category_id, in_stock, rating_floor, price_bucket, products)
SELECT ancestor, own.in_stock, own.rating_floor, own.price_bucket, sum(own.products)
FROM (
    SELECT product.category_id, product.stock > 0 AS in_stock,
           floor(product.rating_average)::smallint AS rating_floor,
           width_bucket(product.price, stored.edges)::smallint AS price_bucket,
           count(*) AS products
    FROM products_product AS product
    CROSS JOIN {PRICE_EDGES_TABLE} AS stored
    WHERE product.is_active
    GROUP BY 1, 2, 3, 4
) AS own
JOIN products_category AS category ON category.id = own.category_id AND category.is_active
CROSS JOIN LATERAL unnest(string_to_array(btrim(category.path, '/'), '/')::bigint[]) AS ancestor
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3, 4
"""


def stored_price_edges(*, using: str = DEFAULT_DB_ALIAS) -> list[Decimal] | None:
    """Return the price bucket edges the summary is counted with: none if they are missing,
    None if the table products_facet_price_edges does not exist (before the migration that
    creates it, or after it is reversed)."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [PRICE_EDGES_TABLE])
        (exists,) = cursor.fetchone()
        if not exists:
            return None
        cursor.execute(f"SELECT edges FROM {PRICE_EDGES_TABLE}")
        row = cursor.fetchone()
    return list(row[0]) if row else []


def facet_counts_rebuild(*, using: str = DEFAULT_DB_ALIAS) -> int:
    """Store the settings' price bucket edges and count the summary anew from the products, in
    one transaction; return how many summary rows it has.

    Writes to products and categories wait for it (a few seconds for a million products);
    reads, the facets' included, go on with the summary as it was until it commits.
    """
    edges = configured_price_edges()
    if not edges or edges[0] <= 0 or edges != sorted(set(edges)):
        raise ImproperlyConfigured("CATALOGUE_PRICE_BUCKETS must be increasing positive numbers.")
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        # SHARE ROW EXCLUSIVE: no product or category is written meanwhile (the triggers would
        # count into rows being recounted), nor does a second rebuild run; reads go on.
        cursor.execute("LOCK TABLE products_category, products_product IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(
            f"INSERT INTO {PRICE_EDGES_TABLE} (id, edges) VALUES (true, %s)"
            " ON CONFLICT (id) DO UPDATE SET edges = excluded.edges",
            [edges],
        )
        # DELETE, not TRUNCATE: readers keep reading the old rows until the commit.
        cursor.execute("DELETE FROM products_categoryfacetcount")
        cursor.execute(_COUNT_ALL)
        return cursor.rowcount


def facet_counts_rebuild_if_stale(*, using: str = DEFAULT_DB_ALIAS) -> bool:
    """Rebuild the summary if it was counted with other price buckets than the settings' (and
    exists); return whether it did."""
    stored = stored_price_edges(using=using)
    if stored is None or stored == configured_price_edges():
        return False
    logger.info("Price buckets changed from %s: recounting the facet summary", stored)
    facet_counts_rebuild(using=using)
    return True
