from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q

from apps.core.exceptions import register_database_rule
from apps.core.models import TimeStampedModel

CATEGORY_CYCLE_RULE = "products_category_no_cycle"
CATEGORY_CYCLE_MESSAGE = "A category cannot be moved under itself or one of its descendants."
# The trigger installed by migration 0002 raises this; the API reports it on ``parent``.
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
        """Return the ids from ``category_id``'s parent up to its root, in one recursive query."""
        table = Category._meta.db_table
        rows = Category.objects.raw(
            f"""
            WITH RECURSIVE ancestors(id, parent_id, depth) AS (
                SELECT id, parent_id, 0 FROM {table} WHERE id = %s
                UNION
                SELECT c.id, c.parent_id, a.depth + 1
                FROM {table} c JOIN ancestors a ON c.id = a.parent_id
                WHERE a.depth < 1000
            )
            SELECT id FROM ancestors WHERE id <> %s ORDER BY depth
            """,
            [category_id, category_id],
        )
        return [row.id for row in rows]


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

    objects: ClassVar[CategoryQuerySet] = CategoryQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["name", "id"]
        constraints = [
            # Deeper cycles are refused by the trigger of migration 0002.
            models.CheckConstraint(
                condition=~Q(parent=F("id")),
                name="products_category_not_own_parent",
                violation_error_message=CATEGORY_CYCLE_MESSAGE,
            ),
        ]

    def __str__(self) -> str:
        return self.name


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
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    # Stored figures, updated atomically with every review write (see apps.reviews.services).
    review_count = models.IntegerField(default=0, editable=False)
    rating_sum = models.IntegerField(default=0, editable=False)

    objects: ClassVar[ProductQuerySet] = ProductQuerySet.as_manager()  # type: ignore[assignment]

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
                condition=Q(review_count__gte=0)
                & Q(rating_sum__gte=F("review_count"))
                & Q(rating_sum__lte=F("review_count") * 5),
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
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"

    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    @property
    def average_rating(self) -> Decimal | None:
        """Return the mean rating to two decimals, or None without reviews."""
        if not self.review_count:
            return None
        return (Decimal(self.rating_sum) / self.review_count).quantize(Decimal("0.01"))
