from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from apps.core.fields import ModelSerializer
from apps.core.serializers import JSONTypesMixin

from .images import validate_product_image
from .models import Category, Product, ProductImage
from .services import category_validate_parent

# Slugs stay unique (ModelSerializer's UniqueValidator) but may be left out or blank: the
# services derive one from the name.
OPTIONAL_SLUG = {
    "required": False,
    "allow_blank": True,
    "help_text": "Derived from the name when left out.",
}


class CategorySummarySerializer(ModelSerializer[Category]):
    class Meta:
        model = Category
        fields = ["id", "name", "slug"]
        read_only_fields = fields


class CategorySerializer(JSONTypesMixin, ModelSerializer[Category]):
    """Read and write a category; ``parent`` is a category id (null for a root)."""

    class Meta:
        model = Category
        fields = [
            "id",
            "name",
            "slug",
            "description",
            "parent",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"slug": OPTIONAL_SLUG}

    def validate_parent(self, value: Category | None) -> Category | None:
        try:
            category_validate_parent(category=self.instance, parent=value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict["parent"]) from error
        return value


class CategoryDetailSerializer(CategorySerializer):
    """A category with the way down to it, its children and its active product count."""

    breadcrumbs = CategorySummarySerializer(
        many=True, read_only=True, help_text="From the root down to this category."
    )
    children = CategorySummarySerializer(many=True, read_only=True, source="active_children")
    product_count = serializers.IntegerField(
        read_only=True, help_text="Active products in this category and all its descendants."
    )

    class Meta(CategorySerializer.Meta):
        fields = [*CategorySerializer.Meta.fields, "breadcrumbs", "children", "product_count"]


class CategoryTreeNodeSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.SlugField()
    children = serializers.ListField(
        child=serializers.DictField(), help_text="Nodes of the same shape, one level down."
    )


class CategoryWithBreadcrumbsSerializer(CategorySummarySerializer):
    breadcrumbs = CategorySummarySerializer(many=True, read_only=True)

    class Meta(CategorySummarySerializer.Meta):
        fields = [*CategorySummarySerializer.Meta.fields, "breadcrumbs"]
        read_only_fields = fields


class ProductImageSerializer(JSONTypesMixin, ModelSerializer[ProductImage]):
    """An image of a product. Upload with multipart/form-data (``image``, ``alt_text``,
    ``position``)."""

    class Meta:
        model = ProductImage
        fields = ["id", "image", "alt_text", "position", "width", "height", "created_at"]
        read_only_fields = ["id", "width", "height", "created_at"]

    def validate_image(self, image: Any) -> Any:
        return validate_product_image(image)


class ProductImageUpdateSerializer(ProductImageSerializer):
    class Meta(ProductImageSerializer.Meta):
        read_only_fields = ["id", "image", "width", "height", "created_at"]


class ProductReadSerializer(ModelSerializer[Product]):
    category = CategorySummarySerializer()
    in_stock = serializers.BooleanField()
    average_rating = serializers.DecimalField(
        max_digits=3,
        decimal_places=2,
        allow_null=True,
        coerce_to_string=False,
        help_text="Mean of the ratings, null while the product has no reviews.",
    )

    class Meta:
        model = Product
        fields = [
            "id",
            "name",
            "slug",
            "sku",
            "description",
            "price",
            "stock",
            "in_stock",
            "is_active",
            "category",
            "average_rating",
            "review_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


# The product list renders hundreds of rows a second: ``ProductReadSerializer``'s fields, built
# from ``values()`` rows by plain code rather than field by field (about ten times faster).
# tests/test_serializers.py checks that both give the same JSON.
PRODUCT_LIST_VALUES = (
    "id",
    "name",
    "slug",
    "sku",
    "description",
    "price",
    "stock",
    "is_active",
    "category_id",
    "category__name",
    "category__slug",
    "rating_sum",
    "review_count",
    "rating_average",  # a sort key: cursors read it from the row
    "created_at",
    "updated_at",
)
_CENT = Decimal("0.01")
_DATETIME = serializers.DateTimeField()


def product_list_row(row: dict[str, Any]) -> dict[str, Any]:
    """Return ``ProductReadSerializer``'s representation of a ``PRODUCT_LIST_VALUES`` row."""
    review_count = row["review_count"]
    return {
        "id": row["id"],
        "name": row["name"],
        "slug": row["slug"],
        "sku": row["sku"],
        "description": row["description"],
        "price": format(row["price"].quantize(_CENT), "f"),
        "stock": row["stock"],
        "in_stock": row["stock"] > 0,
        "is_active": row["is_active"],
        "category": {
            "id": row["category_id"],
            "name": row["category__name"],
            "slug": row["category__slug"],
        },
        # Product.average_rating, as a JSON number like the serializer's coerce_to_string=False.
        "average_rating": float((Decimal(row["rating_sum"]) / review_count).quantize(_CENT))
        if review_count
        else None,
        "review_count": review_count,
        "created_at": _DATETIME.to_representation(row["created_at"]),
        "updated_at": _DATETIME.to_representation(row["updated_at"]),
    }


def product_detail_data(product: Product, request: Any) -> dict[str, Any]:
    """Return ``ProductDetailSerializer``'s representation of ``product``, loaded by
    ``Product.objects.for_detail()`` (breadcrumbs and images as JSON), built by plain code."""
    category = product.category
    average = product.average_rating
    storage = ProductImage._meta.get_field("image").storage
    return {
        "id": product.pk,
        "name": product.name,
        "slug": product.slug,
        "sku": product.sku,
        "description": product.description,
        "price": format(product.price.quantize(_CENT), "f"),
        "stock": product.stock,
        "in_stock": product.in_stock,
        "is_active": product.is_active,
        "category": {
            "id": category.pk,
            "name": category.name,
            "slug": category.slug,
            "breadcrumbs": product.breadcrumbs_data,  # type: ignore[attr-defined]
        },
        "average_rating": float(average) if average is not None else None,
        "review_count": product.review_count,
        "created_at": _DATETIME.to_representation(product.created_at),
        "updated_at": _DATETIME.to_representation(product.updated_at),
        "images": [
            {
                "id": image["id"],
                # As DRF's ImageField: the storage's URL, absolute for the request.
                "image": request.build_absolute_uri(storage.url(image["image"])),
                "alt_text": image["alt_text"],
                "position": image["position"],
                "width": image["width"],
                "height": image["height"],
                "created_at": _DATETIME.to_representation(
                    datetime.fromisoformat(image["created_at"])
                ),
            }
            for image in product.images_data  # type: ignore[attr-defined]
        ],
        "rating": {
            "average": float(average) if average is not None else None,
            "count": product.review_count,
            "histogram": product.rating_histogram,
        },
    }


class RatingSummarySerializer(serializers.Serializer[Product]):
    average = serializers.DecimalField(
        source="average_rating",
        max_digits=3,
        decimal_places=2,
        coerce_to_string=False,
        allow_null=True,
    )
    count = serializers.IntegerField(source="review_count")
    histogram = serializers.DictField(
        source="rating_histogram",
        child=serializers.IntegerField(),
        help_text='Reviews per number of stars, "1" to "5".',
    )


class ProductDetailSerializer(ProductReadSerializer):
    """A product page: the list shape plus breadcrumbs, images and the rating summary."""

    category = CategoryWithBreadcrumbsSerializer(read_only=True)
    images = ProductImageSerializer(many=True, read_only=True)
    rating = RatingSummarySerializer(source="*", read_only=True)

    class Meta(ProductReadSerializer.Meta):
        fields = [*ProductReadSerializer.Meta.fields, "images", "rating"]
        read_only_fields = fields


class ProductWriteSerializer(JSONTypesMixin, ModelSerializer[Product]):
    """Create or change a product; ``category`` is a category id. Answers with the read shape."""

    class Meta:
        model = Product
        fields = [
            "name",
            "slug",
            "sku",
            "description",
            "price",
            "stock",
            "is_active",
            "category",
        ]
        extra_kwargs = {"slug": OPTIONAL_SLUG}

    def to_representation(self, instance: Product) -> dict[str, Any]:
        return ProductReadSerializer(instance, context=self.context).data
