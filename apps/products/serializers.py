from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from .models import Category, Product
from .services import category_validate_parent

# Slugs stay unique (ModelSerializer's UniqueValidator) but may be left out or blank: the
# services derive one from the name.
OPTIONAL_SLUG = {
    "required": False,
    "allow_blank": True,
    "help_text": "Derived from the name when left out.",
}


class CategorySummarySerializer(serializers.ModelSerializer[Category]):
    class Meta:
        model = Category
        fields = ["id", "name", "slug"]
        read_only_fields = fields


class CategorySerializer(serializers.ModelSerializer[Category]):
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


class ProductReadSerializer(serializers.ModelSerializer[Product]):
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


class ProductWriteSerializer(serializers.ModelSerializer[Product]):
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
