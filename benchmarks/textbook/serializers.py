"""Serializers as a tutorial writes them: nested ModelSerializers, and figures computed in
Python from every review, per product (the database is asked again for each row)."""

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from apps.attributes.models import Attribute, AttributeOption, ProductTypeAttribute
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


class ProductListSerializer(ProductSerializer):
    """A list row: with the variant a search by SKU matched (none here: no search)."""

    matched_variant = serializers.SerializerMethodField()

    class Meta(ProductSerializer.Meta):
        fields = [*ProductSerializer.Meta.fields, "matched_variant"]

    def get_matched_variant(self, obj: Product) -> None:
        return None


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


def option_json(option: AttributeOption, request: Any) -> dict[str, Any]:
    image = request.build_absolute_uri(option.swatch_image.url) if option.swatch_image else None
    return {
        "slug": option.slug,
        "value": option.value,
        "swatch_colour": option.swatch_colour or None,
        "swatch_image": image,
    }


def attribute_json(attribute: Attribute) -> dict[str, Any]:
    return {
        "slug": attribute.slug,
        "name": attribute.name,
        "kind": attribute.kind,
        "unit": attribute.unit,
    }


class VariantSerializer(serializers.ModelSerializer[Variant]):
    in_stock = serializers.SerializerMethodField()
    options = serializers.SerializerMethodField()

    class Meta:
        model = Variant
        fields = ["id", "sku", "price", "stock", "in_stock", "is_active", "position", "options"]

    def get_in_stock(self, obj: Variant) -> bool:
        return obj.stock > 0

    def get_options(self, obj: Variant) -> dict[str, str]:
        options = AttributeOption.objects.filter(pk__in=obj.option_ids).select_related("attribute")
        return {option.attribute.slug: option.slug for option in options}


class ProductDetailSerializer(ProductSerializer):
    category = CategoryWithBreadcrumbsSerializer(read_only=True)
    images = ProductImageSerializer(many=True, read_only=True)
    variants = serializers.SerializerMethodField()
    attributes = serializers.SerializerMethodField()
    options = serializers.SerializerMethodField()
    rating = serializers.SerializerMethodField()

    class Meta(ProductSerializer.Meta):
        fields = [
            *ProductSerializer.Meta.fields,
            "images",
            "variants",
            "attributes",
            "options",
            "rating",
        ]

    def get_variants(self, obj: Product) -> Any:
        return VariantSerializer(obj.variants.filter(is_active=True)[:100], many=True).data

    def get_attributes(self, obj: Product) -> list[dict[str, Any]]:
        request = self.context["request"]
        shown = []
        type_attributes = ProductTypeAttribute.objects.filter(
            product_type_id=obj.product_type_id, is_axis=False, attribute__is_shown=True
        ).order_by("position", "id")
        for type_attribute in type_attributes:
            attribute = type_attribute.attribute
            values = list(
                obj.attribute_values.filter(attribute=attribute).order_by(
                    "option__position", "option__id"
                )
            )
            if not values:
                continue
            value: Any
            if attribute.kind == "multiple_choice":
                value = [option_json(item.option, request) for item in values if item.option]
            elif values[0].option is not None:
                value = option_json(values[0].option, request)
            else:
                item = values[0]
                typed = [item.value_text, item.value_boolean, item.value_date, item.value_number]
                value = next(v for v in typed if v is not None)
                if isinstance(value, Decimal):
                    value = format(value.normalize(), "f")  # as trim_scale() writes it
                elif not isinstance(value, str | bool):
                    value = value.isoformat()
            shown.append({"attribute": attribute_json(attribute), "value": value})
        return shown

    def get_options(self, obj: Product) -> list[dict[str, Any]]:
        request = self.context["request"]
        if obj.product_type is None or not obj.product_type.has_variants:
            return []
        in_use = {
            option_id
            for variant in obj.variants.filter(is_active=True)
            for option_id in variant.option_ids
        }
        axes = []
        for type_attribute in ProductTypeAttribute.objects.filter(
            product_type_id=obj.product_type_id, is_axis=True
        ).order_by("position", "id"):
            attribute = type_attribute.attribute
            options = attribute.options.filter(pk__in=in_use).order_by("position", "id")
            axes.append(
                {
                    "attribute": attribute_json(attribute),
                    "values": [option_json(option, request) for option in options],
                }
            )
        return axes

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
