"""Serializers as a tutorial writes them: nested ModelSerializers, and figures computed in
Python from every review, per product (the database is asked again for each row)."""

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from apps.products.models import Category, Product, ProductImage, Variant
from apps.reviews.models import Review

TWO_PLACES = Decimal("0.01")


def visible_reviews(product: Product) -> list[Review]:
    return [review for review in product.reviews.all() if not review.is_hidden]


def mean_rating(reviews: list[Review]) -> Decimal | None:
    if not reviews:
        return None
    return (Decimal(sum(review.rating for review in reviews)) / len(reviews)).quantize(TWO_PLACES)


class CategorySerializer(serializers.ModelSerializer[Category]):
    class Meta:
        model = Category
        fields = ["id", "name", "slug"]


class PriceRangeSerializer(serializers.Serializer[Product]):
    min = serializers.DecimalField(source="price", max_digits=10, decimal_places=2)
    max = serializers.DecimalField(source="price_max", max_digits=10, decimal_places=2)


class ProductSerializer(serializers.ModelSerializer[Product]):
    category = CategorySerializer(read_only=True)
    price_range = PriceRangeSerializer(source="*", read_only=True)
    in_stock = serializers.SerializerMethodField()
    average_rating = serializers.SerializerMethodField()
    review_count = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = [
            "id",
            "name",
            "slug",
            "sku",
            "description",
            "price",
            "price_range",
            "stock",
            "in_stock",
            "is_active",
            "category",
            "average_rating",
            "review_count",
            "created_at",
            "updated_at",
        ]

    def get_in_stock(self, obj: Product) -> bool:
        return obj.stock > 0

    def get_average_rating(self, obj: Product) -> float | None:
        average = mean_rating(visible_reviews(obj))
        return None if average is None else float(average)

    def get_review_count(self, obj: Product) -> int:
        return len(visible_reviews(obj))


class CategoryWithBreadcrumbsSerializer(CategorySerializer):
    breadcrumbs = serializers.SerializerMethodField()

    class Meta(CategorySerializer.Meta):
        fields = [*CategorySerializer.Meta.fields, "breadcrumbs"]

    def get_breadcrumbs(self, obj: Category) -> list[dict[str, Any]]:
        trail: list[Category] = []
        node: Category | None = obj
        while node is not None:
            trail.insert(0, node)
            node = node.parent
        return CategorySerializer(trail, many=True).data  # type: ignore[return-value]


class ProductImageSerializer(serializers.ModelSerializer[ProductImage]):
    class Meta:
        model = ProductImage
        fields = ["id", "image", "alt_text", "position", "width", "height", "created_at"]


class VariantSerializer(serializers.ModelSerializer[Variant]):
    in_stock = serializers.SerializerMethodField()

    class Meta:
        model = Variant
        fields = ["id", "sku", "price", "stock", "in_stock", "is_active", "position", "option_ids"]

    def get_in_stock(self, obj: Variant) -> bool:
        return obj.stock > 0


class ProductDetailSerializer(ProductSerializer):
    category = CategoryWithBreadcrumbsSerializer(read_only=True)
    images = ProductImageSerializer(many=True, read_only=True)
    variants = serializers.SerializerMethodField()
    rating = serializers.SerializerMethodField()

    class Meta(ProductSerializer.Meta):
        fields = [*ProductSerializer.Meta.fields, "images", "variants", "rating"]

    def get_variants(self, obj: Product) -> Any:
        return VariantSerializer(obj.variants.filter(is_active=True)[:100], many=True).data

    def get_rating(self, obj: Product) -> dict[str, Any]:
        reviews = visible_reviews(obj)
        average = mean_rating(reviews)
        histogram = {str(stars): 0 for stars in range(1, 6)}
        for review in reviews:
            histogram[str(review.rating)] += 1
        return {
            "average": None if average is None else float(average),
            "count": len(reviews),
            "histogram": histogram,
        }
