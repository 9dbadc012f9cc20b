import uuid
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Case, F, Q, Sum, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Coalesce, Upper
from django.utils import timezone

from apps.core.database_rules import register_database_rule
from apps.core.models import TimeStampedModel

CATEGORY_CYCLE_RULE = "products_category_no_cycle"
CATEGORY_CYCLE_MESSAGE = "A category cannot be moved under itself or one of its descendants."
# The trigger products_category_path (its function products_category_set_path) raises this;
# the API reports it on ``parent``.
register_database_rule(CATEGORY_CYCLE_RULE, field="parent", message=CATEGORY_CYCLE_MESSAGE)


class CategoryQuerySet(models.QuerySet["Category"]):
    def active(self) -> "CategoryQuerySet":
        return self.filter(is_active=True)

    def visible_to(self, user: object) -> "CategoryQuerySet":
        """Return every category for staff who may change them, the active ones for anyone else."""
        if getattr(user, "is_staff", False) and user.has_perm("products.change_category"):  # type: ignore[attr-defined]
            return self
        return self.active()

    def ancestor_ids(self, category_id: int) -> list[int]:
        """Return the ids from ``category_id``'s parent up to its root, nearest first."""
        path = Category.objects.filter(pk=category_id).values_list("path", flat=True).first()
        return list(reversed(path_ids(path or "")[:-1]))

    def with_subtree_ids(self) -> "CategoryQuerySet":
        """Annotate each category with ``subtree_ids``: its own id and its descendants', from
        the ``path`` index (a range of paths, which the index answers per row)."""
        return self.annotate(
            subtree_ids=RawSQL(
                "ARRAY(SELECT subtree.id FROM products_category subtree"
                " WHERE subtree.path ~>=~ products_category.path"
                " AND subtree.path ~<~ (products_category.path || '~'))",
                [],
                output_field=ArrayField(models.BigIntegerField()),
            )
        )

    def subtree_of(self, category: "Category") -> "CategoryQuerySet":
        """Return ``category`` and all its descendants: one indexed prefix match on ``path``."""
        return self.filter(path__startswith=category.path)


def path_ids(path: str) -> list[int]:
    """Return the ids in a materialized path such as ``/3/17/42/``, root first."""
    return [int(part) for part in path.strip("/").split("/") if part]


class ReturningCharField(models.CharField):
    """A column the database fills in (a trigger); read back on INSERT with RETURNING."""

    db_returning = True


class ReturningDecimalField(models.DecimalField):
    """A decimal column the database fills in (a trigger); read back on INSERT with RETURNING."""

    db_returning = True


class ReturningIntegerField(models.IntegerField):
    """An integer column the database fills in (a trigger); read back on INSERT with
    RETURNING."""

    db_returning = True


class Category(TimeStampedModel):
    """A node of the category tree; ``parent`` is empty for a root."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    description = models.TextField(blank=True)
    parent = models.ForeignKey(
        "self",
        # A category with children cannot be deleted: that would orphan or drop a subtree.
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    is_active = models.BooleanField(default=True)
    # Ids from the root down to this category, e.g. "/3/17/42/". Owned by the database: the
    # trigger products_category_path sets it from the parent, and products_category_subtree
    # rewrites the descendants' when a category moves.
    path = ReturningCharField(max_length=512, editable=False, default="", db_index=False)

    objects: ClassVar[CategoryQuerySet] = CategoryQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["path"], name="category_path", opclasses=["varchar_pattern_ops"])
        ]
        constraints = [
            # Deeper cycles are refused by the trigger products_category_path.
            models.CheckConstraint(
                condition=~Q(parent=F("id")),
                name="products_category_not_own_parent",
                violation_error_message=CATEGORY_CYCLE_MESSAGE,
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        """Return 0 for a root, 1 for its children, and so on."""
        return self.path.count("/") - 2


class ProductQuerySet(models.QuerySet["Product"]):
    def active(self) -> "ProductQuerySet":
        """Return products a shopper may see: active, in an active category."""
        return self.filter(is_active=True, category__is_active=True)

    def visible_to(self, user: object) -> "ProductQuerySet":
        """Return every product for staff who may change them, the active ones for anyone else."""
        if getattr(user, "is_staff", False) and user.has_perm("products.change_product"):  # type: ignore[attr-defined]
            return self
        return self.active()

    def for_list(self) -> "ProductQuerySet":
        """Return products with everything a list row renders, in one query."""
        return self.select_related("category")

    def for_detail(self, *, every_variant: bool = False) -> "ProductQuerySet":
        """Return products with everything a product page shows, in one query: the category,
        and as one JSON object (``page_data``, read through ``breadcrumbs_data`` and the
        like) its ancestors root first, the product's images in order, its first
        ``DETAIL_MAX_VARIANTS`` variants by position (the active ones, or with
        ``every_variant`` all of them), its shown attribute values and its type's axes with
        the options of its active variants."""
        return self.select_related("category").annotate(
            page_data=RawSQL(  # noqa: S611 - constant SQL, the values as parameters
                _PAGE_SQL, [every_variant, DETAIL_MAX_VARIANTS], output_field=models.JSONField()
            )
        )

    def in_category(self, category: "Category") -> "ProductQuerySet":
        """Return products in ``category`` or any of its descendants, in one indexed query."""
        return self.filter(category__in=Category.objects.subtree_of(category).values("pk"))


# A variant's options as {axis_slug: option_slug}, from its row of products_variant: one index
# lookup per option.
VARIANT_OPTIONS_SQL = """
    SELECT coalesce(jsonb_object_agg(option_attribute.slug, option.slug), '{}')
    FROM attributes_attributeoption option
    JOIN attributes_attribute option_attribute ON option_attribute.id = option.attribute_id
    WHERE option.id = ANY("products_variant".option_ids)
"""
DETAIL_MAX_VARIANTS = 100  # listed with the catalogue's limits (apps.products.limits)
# The product page's parts as one JSON object (apps/products/sql/products_product_page.sql), on
# the tables of for_detail()'s query: the product and its category (joined by select_related
# under the table's own name).
_PAGE_SQL = (
    'products_product_page("products_product"."id", "products_product"."product_type_id", '
    '"products_category"."path", %s, %s)'
)


def sees_every_variant(user: object) -> bool:
    """Return whether ``user`` sees inactive variants too: staff who may change variants."""
    return bool(getattr(user, "is_staff", False)) and user.has_perm("products.change_variant")  # type: ignore[attr-defined]


class ProductManager(models.Manager.from_queryset(ProductQuerySet)):  # type: ignore[misc]
    def get_queryset(self) -> ProductQuerySet:
        # The search document and its values are large and only PostgreSQL reads them.
        # Deferred, they are also never written back by save(): the search triggers own them.
        return super().get_queryset().defer("search_vector", "search_values")


class Product(TimeStampedModel):
    """Something the shop sells. Rating figures are kept by ``apps.reviews.services``."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    sku = models.CharField("SKU", max_length=64, unique=True)
    description = models.TextField(blank=True)
    price = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    stock = models.IntegerField(default=0, validators=[MinValueValidator(0)])
    is_active = models.BooleanField(default=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    # Which attributes describe it and which are its variant axes; none: no attributes, and one
    # variant. A type in use by products is not deleted.
    product_type = models.ForeignKey(
        "attributes.ProductType",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="products",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    # Stored figures, updated atomically with every review write (see apps.reviews.services):
    # how many reviews gave 1, 2 ... 5 stars, their count and their sum.
    rating_1_count = models.IntegerField(default=0, editable=False)
    rating_2_count = models.IntegerField(default=0, editable=False)
    rating_3_count = models.IntegerField(default=0, editable=False)
    rating_4_count = models.IntegerField(default=0, editable=False)
    rating_5_count = models.IntegerField(default=0, editable=False)
    review_count = models.IntegerField(default=0, editable=False)
    rating_sum = models.IntegerField(default=0, editable=False)
    # The mean rating, 0 without reviews, kept by PostgreSQL so that lists sort on an index.
    # The sum is divided as a numeric that holds any integer (numeric(10, 0)): a numeric(12, 4)
    # held sums below 10^8 only, and a product's next review past it was a server error.
    rating_average = models.GeneratedField(
        expression=Case(
            When(review_count=0, then=Value(Decimal("0"))),
            default=Cast("rating_sum", models.DecimalField(max_digits=10, decimal_places=0))
            / F("review_count"),
        ),
        output_field=models.DecimalField(max_digits=3, decimal_places=2),
        db_persist=True,
    )
    # Full-text document (name weighted A, description B, search_values C) in the configured
    # language, set by a trigger in the same statement as every insert or edit: a product is
    # searchable at once.
    search_vector = SearchVectorField(null=True, editable=False)
    # The words its variants and attributes add to the document: the distinct option values of
    # its active variants and its text and option attribute values, sorted. Kept by PostgreSQL
    # in the statement that changes them (products_variant_summarize,
    # products_product_search_values_refresh); what any other writer sends is ignored.
    search_values = models.TextField(db_default="", editable=False)
    # The variants' summary, with price, stock and sku (see Variant): the highest price of the
    # active variants (of all when none is active) and how many variants there are. Kept by
    # PostgreSQL (products_variant_summarize); a new product starts with one variant, its own
    # price and stock (products_product_variant_defaults, products_product_default_variant).
    price_max = ReturningDecimalField(
        max_digits=10, decimal_places=2, default=Decimal("0"), editable=False
    )
    variant_count = ReturningIntegerField(default=1, editable=False)

    objects: ClassVar[ProductManager] = ProductManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price__gte=0),
                name="products_product_price_not_negative",
                violation_error_message="Price cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(stock__gte=0),
                name="products_product_stock_not_negative",
                violation_error_message="Stock cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(
                    rating_1_count__gte=0,
                    rating_2_count__gte=0,
                    rating_3_count__gte=0,
                    rating_4_count__gte=0,
                    rating_5_count__gte=0,
                    review_count=F("rating_1_count")
                    + F("rating_2_count")
                    + F("rating_3_count")
                    + F("rating_4_count")
                    + F("rating_5_count"),
                    rating_sum=F("rating_1_count")
                    + 2 * F("rating_2_count")
                    + 3 * F("rating_3_count")
                    + 4 * F("rating_4_count")
                    + 5 * F("rating_5_count"),
                ),
                name="products_product_rating_figures_consistent",
                violation_error_message="Rating figures must describe ratings from 1 to 5.",
            ),
        ]
        indexes = [
            # The storefront's lists: active products, newest first, optionally by category;
            # and by price.
            models.Index(
                fields=["category", "-created_at", "-id"],
                condition=Q(is_active=True),
                name="product_active_category_new",
            ),
            models.Index(
                fields=["-created_at", "-id"],
                condition=Q(is_active=True),
                name="product_active_newest",
            ),
            models.Index(
                fields=["price", "id"], condition=Q(is_active=True), name="product_active_price"
            ),
            models.Index(
                fields=["name", "id"], condition=Q(is_active=True), name="product_active_name"
            ),
            models.Index(
                fields=["rating_average", "id"],
                condition=Q(is_active=True),
                name="product_active_rating",
            ),
            models.Index(
                fields=["review_count", "id"],
                condition=Q(is_active=True),
                name="product_active_review_count",
            ),
            # Facet counts of a category page: read from the index alone, without the table.
            models.Index(
                fields=["category"],
                include=["id", "price", "stock", "rating_average"],
                condition=Q(is_active=True),
                name="product_active_category_facets",
            ),
            # Stock levels (out, low) in the admin's filter and dashboard.
            models.Index(
                fields=["stock"], condition=Q(is_active=True), name="product_active_stock"
            ),
            GinIndex(fields=["search_vector"], name="product_search_vector"),
            # ?sku= and a search term that is a SKU match whatever the case.
            models.Index(Upper("sku"), name="product_sku_upper"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"

    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    # The parts of a product page, from ``page_data``: only on products of ``for_detail()``.
    @property
    def breadcrumbs_data(self) -> list[dict[str, Any]]:
        return self.page_data["breadcrumbs"]  # type: ignore[attr-defined]

    @property
    def images_data(self) -> list[dict[str, Any]]:
        return self.page_data["images"]  # type: ignore[attr-defined]

    @property
    def variants_data(self) -> list[dict[str, Any]]:
        return self.page_data["variants"]  # type: ignore[attr-defined]

    @property
    def attributes_data(self) -> list[dict[str, Any]]:
        return self.page_data["attributes"]  # type: ignore[attr-defined]

    @property
    def options_data(self) -> list[dict[str, Any]]:
        return self.page_data["options"]  # type: ignore[attr-defined]

    @property
    def has_several_variants(self) -> bool:
        return self.variant_count > 1

    @property
    def average_rating(self) -> Decimal | None:
        """Return the mean rating to two decimals, or None without reviews."""
        if not self.review_count:
            return None
        return (Decimal(self.rating_sum) / self.review_count).quantize(Decimal("0.01"))

    @property
    def rating_histogram(self) -> dict[str, int]:
        """Return how many reviews gave each number of stars, "1" to "5"."""
        return {str(stars): getattr(self, f"rating_{stars}_count") for stars in range(1, 6)}


# Rules the triggers on products and variants enforce (apps/products/sql/), reported on a field.
SEVERAL_VARIANTS_MESSAGE = "This product has several variants: change their {}."
PRODUCT_SUMMARY_RULES = {
    "price": "products_product_price_from_variants",
    "stock": "products_product_stock_from_variants",
    "sku": "products_product_sku_from_variants",
}
SUMMARY_FIELD_PLURALS = {"price": "prices", "stock": "stock", "sku": "SKUs"}
for _field, _rule in PRODUCT_SUMMARY_RULES.items():
    register_database_rule(
        _rule, field=_field, message=SEVERAL_VARIANTS_MESSAGE.format(SUMMARY_FIELD_PLURALS[_field])
    )
# The API's key for an error about the whole request (DRF's NON_FIELD_ERRORS_KEY, unchanged in
# the settings); the models do not import DRF.
NON_FIELD_ERRORS_KEY = "non_field_errors"
REQUIRES_VARIANT_RULE = "products_product_requires_variant"
REQUIRES_VARIANT_MESSAGE = "A product keeps at least one variant: this is its last one."
register_database_rule(
    REQUIRES_VARIANT_RULE, field=NON_FIELD_ERRORS_KEY, message=REQUIRES_VARIANT_MESSAGE
)
# The field that carries a variant's options in the API: ``options: {axis_slug: option_slug}``.
VARIANT_OPTIONS_FIELD = "options"
VARIANT_OPTIONS_RULE = "products_variant_options_of_axes"
VARIANT_OPTIONS_MESSAGE = (
    "Give one option of each variant axis of the product's type (none without axes)."
)
register_database_rule(
    VARIANT_OPTIONS_RULE, field=VARIANT_OPTIONS_FIELD, message=VARIANT_OPTIONS_MESSAGE
)
TYPE_FITS_VARIANTS_RULE = "products_product_type_fits_variants"
TYPE_FITS_VARIANTS_MESSAGE = (
    "The product's variants do not have one option of each variant axis of this type."
)
register_database_rule(
    TYPE_FITS_VARIANTS_RULE, field="product_type", message=TYPE_FITS_VARIANTS_MESSAGE
)
VARIANT_UNIQUE_OPTIONS_RULE = "products_variant_unique_options"
VARIANT_UNIQUE_OPTIONS_MESSAGE = "This product already has a variant with these options."
register_database_rule(
    VARIANT_UNIQUE_OPTIONS_RULE,
    field=VARIANT_OPTIONS_FIELD,
    message=VARIANT_UNIQUE_OPTIONS_MESSAGE,
)

# The option and axis guards (products_option_check_variants,
# products_type_attribute_check_axes), on the attribute's and the type's fields.
OPTION_USED_BY_VARIANTS_RULE = "products_option_used_by_variants"
OPTION_USED_BY_VARIANTS_MESSAGE = (
    "Variants have an option that the list leaves out: change or delete those variants first."
)
register_database_rule(
    OPTION_USED_BY_VARIANTS_RULE, field="options", message=OPTION_USED_BY_VARIANTS_MESSAGE
)
AXIS_ADDED_RULE = "products_type_axis_added_under_variants"
AXIS_ADDED_MESSAGE = (
    "Products of this type have variants, which would lack an option of the new variant axis."
)
register_database_rule(AXIS_ADDED_RULE, field="attributes", message=AXIS_ADDED_MESSAGE)
AXIS_REMOVED_RULE = "products_type_axis_removed_under_variants"
AXIS_REMOVED_MESSAGE = (
    "Variants of products of this type have options of a variant axis that the list leaves "
    "out or makes a plain attribute."
)
register_database_rule(AXIS_REMOVED_RULE, field="attributes", message=AXIS_REMOVED_MESSAGE)


class VariantQuerySet(models.QuerySet["Variant"]):
    def active(self) -> "VariantQuerySet":
        return self.filter(is_active=True)

    def visible_to(self, user: object) -> "VariantQuerySet":
        """Return every variant for staff who may change them, the active ones for anyone else
        (the product's own visibility is the caller's: ``Product.objects.visible_to``)."""
        return self if sees_every_variant(user) else self.active()

    def with_options(self) -> "VariantQuerySet":
        """Annotate each variant with ``options``: ``{axis_slug: option_slug}``, in the same
        query."""
        return self.annotate(
            options=RawSQL(VARIANT_OPTIONS_SQL, [], output_field=models.JSONField())  # noqa: S611
        )


class Variant(TimeStampedModel):
    """One sellable form of a product (a size, a colour): its own SKU, price and stock.

    Every product has at least one. The product's ``price``, ``price_max``, ``stock``, ``sku``
    and ``variant_count`` summarise its variants, kept by PostgreSQL in the statement that
    changes them (products_variant_summarize), whoever writes.
    """

    # db_index=False: the (product, position, id) index serves lookups by product.
    # db_constraint=False: the database's foreign key is products_variant_product_fk, created by
    # products.0007 with ON DELETE CASCADE (which Django 5.2 cannot declare), so that SQL that
    # deletes products deletes their variants too; Django deletes them first itself.
    product = models.ForeignKey(
        Product,
        on_delete=models.CASCADE,
        related_name="variants",
        db_index=False,
        db_constraint=False,
    )
    sku = models.CharField("SKU", max_length=64, unique=True)
    price = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    stock = models.IntegerField(default=0, validators=[MinValueValidator(0)])
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)
    # The ids of its options on the axes of the product's type (size, colour), sorted; empty for
    # a product without a type.
    option_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)

    objects: ClassVar[VariantQuerySet] = VariantQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price__gte=0),
                name="products_variant_price_not_negative",
                violation_error_message="Price cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(stock__gte=0),
                name="products_variant_stock_not_negative",
                violation_error_message="Stock cannot be negative.",
            ),
            # Deferrable, checked at the end of each statement rather than row by row: one
            # UPDATE may swap two variants' combinations (an import does). Still immediate:
            # the statement that breaks it fails, not the commit.
            models.UniqueConstraint(
                fields=["product", "option_ids"],
                name=VARIANT_UNIQUE_OPTIONS_RULE,
                violation_error_message=VARIANT_UNIQUE_OPTIONS_MESSAGE,
                deferrable=models.Deferrable.IMMEDIATE,
            ),
        ]
        indexes = [
            models.Index(fields=["product", "position", "id"], name="variant_order"),
            # ?sku= matches any variant's SKU, whatever the case.
            models.Index(Upper("sku"), name="variant_sku_upper"),
            # The variants that carry an option (`option_ids @> ARRAY[id]`): the trigger that
            # keeps a used option from being deleted, the admin's filter by option.
            GinIndex(fields=["option_ids"], name="variant_option_ids"),
        ]

    def __str__(self) -> str:
        return self.sku

    @property
    def in_stock(self) -> bool:
        return self.stock > 0


# Rules the trigger products_attribute_value_check holds, each reported on
# ``attributes.<slug>`` (the error's column is the attribute's slug; apps.core.exceptions).
ATTRIBUTE_VALUE_FIELD = "attributes.{column}"
ATTRIBUTE_VALUE_RULES = {
    "products_attribute_value_of_type": "This attribute is not one of the product type's "
    "attributes (variant axes are given per variant).",
    "products_attribute_value_kind": "This value is not of the attribute's kind.",
    "products_attribute_value_option_of_attribute": "This option is not one of the attribute's.",
    "products_attribute_value_one_option": "This attribute takes one option.",
}
for _rule, _message in ATTRIBUTE_VALUE_RULES.items():
    register_database_rule(_rule, field=ATTRIBUTE_VALUE_FIELD, message=_message)
TYPE_KEEPS_VALUES_RULE = "products_product_type_keeps_values"
TYPE_KEEPS_VALUES_MESSAGE = (
    "The product has values of attributes that this type does not have: give its attributes "
    "anew with the type."
)
register_database_rule(
    TYPE_KEEPS_VALUES_RULE, field="product_type", message=TYPE_KEEPS_VALUES_MESSAGE
)

ATTRIBUTE_KIND_VALUES_RULE = "attributes_attribute_kind_keeps_values"
register_database_rule(
    ATTRIBUTE_KIND_VALUES_RULE,
    field="kind",
    message="Products have values of this attribute: its kind stays.",
)
TYPE_ATTRIBUTE_VALUES_RULE = "products_type_attribute_keeps_values"
register_database_rule(
    TYPE_ATTRIBUTE_VALUES_RULE,
    field="attributes",
    message="Products of this type have values of an attribute that the list leaves out or "
    "makes a variant axis.",
)


class ProductAttributeValue(models.Model):
    """One value of one of a product's (non-axis) attributes: an option (choice, swatch, each
    option of a multiple choice) or a typed value, exactly one of them.

    The trigger products_attribute_value_check holds what spans tables: the attribute is one of
    the product type's non-axis attributes, the column set matches its kind, the option is the
    attribute's, and a choice or swatch has one option per product."""

    # Indexed by attribute_value_product (Meta.indexes): the uniques that start with it are
    # partial.
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="attribute_values", db_index=False
    )
    attribute = models.ForeignKey(
        "attributes.Attribute", on_delete=models.PROTECT, related_name="product_values"
    )
    option = models.ForeignKey(
        "attributes.AttributeOption",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="product_values",
    )
    value_text = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    value_number = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    value_boolean = models.BooleanField(null=True, blank=True)
    value_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # Every value of a product, whatever its kind: the read model's refresh and the
            # product page read them so (the uniques are partial, by kind).
            models.Index(fields=["product"], name="attribute_value_product"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(option__isnull=False, value_text__isnull=True, value_number__isnull=True)
                    & Q(value_boolean__isnull=True, value_date__isnull=True)
                )
                | (
                    Q(option__isnull=True, value_text__isnull=False, value_number__isnull=True)
                    & Q(value_boolean__isnull=True, value_date__isnull=True)
                )
                | (
                    Q(option__isnull=True, value_text__isnull=True, value_number__isnull=False)
                    & Q(value_boolean__isnull=True, value_date__isnull=True)
                )
                | (
                    Q(option__isnull=True, value_text__isnull=True, value_number__isnull=True)
                    & Q(value_boolean__isnull=False, value_date__isnull=True)
                )
                | (
                    Q(option__isnull=True, value_text__isnull=True, value_number__isnull=True)
                    & Q(value_boolean__isnull=True, value_date__isnull=False)
                ),
                name="products_attribute_value_exactly_one",
                violation_error_message="A value is exactly one of an option, a text, a number, "
                "a yes or no, a date.",
            ),
            models.UniqueConstraint(
                fields=["product", "attribute"],
                condition=Q(option__isnull=True),
                name="products_attribute_value_once",
                violation_error_message="This product already has a value of this attribute.",
            ),
            models.UniqueConstraint(
                fields=["product", "option"],
                condition=Q(option__isnull=False),
                name="products_attribute_value_option_once",
                violation_error_message="This product already has this option.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} / {self.attribute_id}: {self.value}"

    @property
    def value(self) -> Any:
        """Return the value: the option, or the typed value."""
        if self.option_id is not None:
            return self.option
        for name in ("value_text", "value_number", "value_boolean", "value_date"):
            value = getattr(self, name)
            if value is not None:
                return value
        return None


class CategoryFacetCountQuerySet(models.QuerySet["CategoryFacetCount"]):
    def covering(self, category: Category | None) -> "CategoryFacetCountQuerySet":
        """Return the rows that together count ``category``'s whole subtree: its own rows, or
        with None the roots' rows (the whole catalogue)."""
        if category is None:
            return self.filter(category__parent__isnull=True)
        return self.filter(category=category)

    def count_sql(self) -> tuple[str, list[Any]]:
        """Return SQL (and parameters) for the row ``ARRAY[count, NULL]`` of the products these
        rows count: what a list's paginator takes for an exact count (``apps.core.pagination``)."""
        rows_sql, params = self.order_by().values("products").query.sql_with_params()
        sql = (
            f"SELECT ARRAY[coalesce(sum(products), 0), NULL]::bigint[] FROM ({rows_sql}) AS summary"
        )
        return sql, list(params)

    def product_count(self, category: Category | None = None) -> int:
        """Return how many products shoppers see in ``category``'s subtree (the whole catalogue
        with None), as ``Product.objects.active()`` counts them: one indexed query."""
        total: int = self.covering(category).aggregate(total=Coalesce(Sum("products"), 0))["total"]
        return total


class CategoryFacetCount(models.Model):
    """How many visible products (``Product.objects.active()``) of a category's whole subtree
    share a stock state, a whole star of rating and a price bucket: the product list's facets
    for a category page, without reading its products.

    Kept by PostgreSQL triggers on products and categories (products_product_facet_counts_*,
    products_category_facet_counts_*) in the statement that changes them; never written by
    Django except by ``facet_counts_rebuild``. A product counts in the rows of its own category
    and of every ancestor. Rows whose count falls to 0 are deleted.
    """

    # Rows go with their category; only a leaf without products can be deleted, and it has none.
    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    in_stock = models.BooleanField()
    # floor(rating_average): 0 (also without reviews) to 5.
    rating_floor = models.PositiveSmallIntegerField()
    # Index of the price bucket, 0 for the first; the edges are stored with the summary.
    price_bucket = models.PositiveSmallIntegerField()
    # Never below 0: the triggers refuse a change that would take it there. Not a CHECK
    # constraint, which PostgreSQL would test on the row an upsert proposes (the change, e.g.
    # -1) before it finds the row to update.
    products = models.IntegerField()

    objects: ClassVar[CategoryFacetCountQuerySet] = CategoryFacetCountQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        constraints = [
            # The triggers' upsert key; its index also serves reads by category.
            models.UniqueConstraint(
                fields=["category", "in_stock", "rating_floor", "price_bucket"],
                name="categoryfacetcount_key",
            ),
            models.CheckConstraint(
                condition=Q(rating_floor__lte=5), name="categoryfacetcount_rating_floor_max"
            ),
        ]

    def __str__(self) -> str:
        stock = "in stock" if self.in_stock else "out of stock"
        return (
            f"category {self.category_id}, {stock}, {self.rating_floor} whole stars, "
            f"price bucket {self.price_bucket}: {self.products}"
        )


class SearchTerm(models.Model):
    """A word that appears in some product's name or description: the lexicon that misspelled
    search terms are corrected against (by trigram similarity). Filled by the search trigger."""

    word = models.CharField(max_length=100, primary_key=True)

    class Meta:
        indexes = [GinIndex(OpClass(F("word"), name="gin_trgm_ops"), name="searchterm_word_trgm")]

    def __str__(self) -> str:
        return self.word


def product_image_path(image: "ProductImage", filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower()
    return f"products/{image.product_id}/{uuid.uuid4().hex}.{extension}"


class ProductImage(TimeStampedModel):
    """A picture of a product; the lowest ``position`` comes first."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(
        upload_to=product_image_path, width_field="width", height_field="height"
    )
    width = models.PositiveIntegerField(editable=False, default=0)
    height = models.PositiveIntegerField(editable=False, default=0)
    alt_text = models.CharField(max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["product", "position", "id"], name="productimage_order")]

    def __str__(self) -> str:
        return self.alt_text or self.image.name


class VariantTags(models.Model):
    """The filtering read model's row of an active variant: its ``option_ids`` and its
    ``tags``: those options, its product's tags (``ProductTags``). One GIN index then answers
    "in this subtree, these options on one variant" (``tags @> ARRAY[-category, red, m]``).

    Kept by PostgreSQL (products_variant_tags_follow, products_variant_tags_refresh) in the
    statement that changes variants, attribute values, products or categories, whoever
    writes; never written by Django.
    """

    # The trigger deletes a variant's row with it: no foreign key for Django to cascade.
    variant = models.OneToOneField(
        Variant,
        on_delete=models.DO_NOTHING,
        primary_key=True,
        related_name="+",
        db_constraint=False,
    )
    product = models.ForeignKey(
        Product, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    # The product's (ProductTags.listed): a shopper's count needs no join with the products.
    listed = models.BooleanField()
    # The product's: a shopper's page filtered by tags, newest first, is the newest products of
    # these rows, joined with the products for that page's rows only.
    created_at = models.DateTimeField()
    option_ids = ArrayField(models.BigIntegerField())
    tags = ArrayField(models.BigIntegerField())

    class Meta:
        db_table = "products_variant_tags"
        indexes = [GinIndex(fields=["tags"], name="variant_tags_gin")]

    def __str__(self) -> str:
        return f"variant {self.pk}: {self.tags}"


class ProductTags(models.Model):
    """The filtering read model's row of a product with an active variant: whether shoppers
    see it (``listed``: it and its category are active), its ``tags`` (its option values, its
    yes-or-no values as ``yes_no_tag``s, minus the ids of its category and every ancestor) and
    its numbers (attribute ids and values, in pairs). The attribute facets count a product's
    own values from this one row, however many variants it has.

    Kept with ``VariantTags`` by the same triggers; never written by Django.
    """

    product = models.OneToOneField(
        Product,
        on_delete=models.DO_NOTHING,
        primary_key=True,
        related_name="+",
        db_constraint=False,
    )
    listed = models.BooleanField()
    tags = ArrayField(models.BigIntegerField())
    number_attribute_ids = ArrayField(models.BigIntegerField())
    number_values = ArrayField(models.DecimalField(max_digits=18, decimal_places=6))

    class Meta:
        db_table = "products_product_tags"

    def __str__(self) -> str:
        return f"product {self.pk}: {self.tags}"


class CategoryTagCount(models.Model):
    """How many products shoppers see in a category's whole subtree have a tag: an option (on
    an active variant or as a value) or a yes-or-no value. The attribute facets of a category
    page without other filters, without reading its products.

    Kept by products_variant_tags_refresh, by differences, in the statement that changes the
    read model; rows whose count falls to 0 are deleted. Never written by Django except by
    ``attribute_counts_rebuild``.
    """

    category = models.ForeignKey(
        Category,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    tag = models.BigIntegerField()
    products = models.IntegerField()

    class Meta:
        constraints = [
            # The refresh's upsert key; its index also serves reads by category.
            models.UniqueConstraint(fields=["category", "tag"], name="categorytagcount_key")
        ]

    def __str__(self) -> str:
        return f"category {self.category_id}, tag {self.tag}: {self.products}"


class CategoryNumberCount(models.Model):
    """How many products shoppers see in a category's whole subtree have a number attribute's
    value: the lowest and highest of them are a number facet of a category page without other
    filters. Kept as ``CategoryTagCount`` is."""

    category = models.ForeignKey(
        Category,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    attribute = models.ForeignKey(
        "attributes.Attribute",
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    value = models.DecimalField(max_digits=18, decimal_places=6)
    products = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["category", "attribute", "value"], name="categorynumbercount_key"
            )
        ]

    def __str__(self) -> str:
        return f"category {self.category_id}, {self.attribute_id} = {self.value}: {self.products}"


# --- imports as jobs ------------------------------------------------------------------------------


class ImportUpload(models.Model):
    """A sheet uploaded for import, kept in the database (``ImportUploadPart``) until it is
    imported, discarded, or ``PRODUCTS_IMPORT_UPLOAD_KEEP_DAYS`` old.

    In the database rather than a file storage: workers may run on other hosts than the web
    server that took the upload, and the default storage is the public media one.
    """

    filename = models.CharField(max_length=255)
    uploaded_format = models.CharField(max_length=8)  # "csv" or "xlsx", as uploaded
    # As stored now: a workbook's dry run replaces it by its CSV transcript, read faster after.
    file_format = models.CharField(max_length=8)
    size = models.BigIntegerField(default=0)  # bytes stored
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)
    # When its parts were deleted: imported, discarded or too old. Its jobs' rows stay.
    discarded_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.filename


class ImportUploadPart(models.Model):
    """One part of an uploaded file's bytes, in order: a file is read a part at a time."""

    upload = models.ForeignKey(ImportUpload, on_delete=models.CASCADE, related_name="parts")
    number = models.IntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["upload", "number"], name="importuploadpart_order")
        ]

    def __str__(self) -> str:
        return f"{self.upload_id} part {self.number}"


class ImportState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class ImportJob(models.Model):
    """One run of a product import, by a job worker: the dry run of an upload, or its apply.

    An apply follows a dry run of the same upload that found no error (``checked_by``), and
    writes every row or none. The worker reports its ``phase`` and ``rows_done`` as it goes,
    and its outcome when it ends: counts, the first ``REPORTED_ERRORS_LIMIT`` errors (of
    ``error_count``), a sample of the changes, or the ``message`` of a failure.
    """

    FINISHED = (ImportState.SUCCEEDED, ImportState.FAILED, ImportState.CANCELLED)

    upload = models.ForeignKey(ImportUpload, on_delete=models.PROTECT, related_name="jobs")
    dry_run = models.BooleanField()
    checked_by = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="apply",
        help_text="The dry run this apply follows.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=ImportState, default=ImportState.QUEUED)
    # The queue's job (procrastinate_jobs.id), to cancel it while it waits.
    queue_job_id = models.BigIntegerField(null=True, blank=True)
    # converting (a workbook, its dry run), reading, checking, writing
    phase = models.CharField(max_length=20, blank=True)
    rows_done = models.BigIntegerField(default=0)
    rows_total = models.BigIntegerField(null=True, blank=True)  # known once read (or checked)
    # The outcome.
    columns = models.JSONField(default=list, blank=True)
    row_count = models.BigIntegerField(null=True, blank=True)
    new = models.BigIntegerField(null=True, blank=True)
    changed = models.BigIntegerField(null=True, blank=True)
    unchanged = models.BigIntegerField(null=True, blank=True)
    invalid = models.BigIntegerField(null=True, blank=True)
    variants_removed = models.BigIntegerField(null=True, blank=True)
    error_count = models.BigIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # [[row, column, message], ...], capped
    samples = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)  # why it failed
    audit_batch = models.UUIDField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True)  # seconds per phase

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(dry_run=True, checked_by__isnull=True)
                | Q(dry_run=False, checked_by__isnull=False),
                name="importjob_apply_follows_dry_run",
            )
        ]

    def __str__(self) -> str:
        kind = "dry run" if self.dry_run else "import"
        return f"{kind} #{self.pk} of {self.upload.filename}"

    @property
    def is_finished(self) -> bool:
        return self.state in self.FINISHED

    @property
    def seconds(self) -> float | None:
        """Return how long the job ran, or has run so far."""
        if self.started_at is None:
            return None
        end = self.finished_at or timezone.now()
        return (end - self.started_at).total_seconds()
