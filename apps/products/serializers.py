from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from apps.core.fields import ModelSerializer
from apps.core.filters import LARGEST_ID
from apps.core.serializers import JSONTypesMixin
from apps.core.shapes import assert_serializer_matches

from .images import validate_product_image
from .limits import VARIANT_MAX_OPTIONS
from .models import DETAIL_MAX_VARIANTS, Category, Product, ProductImage, Variant
from .services import category_validate_parent, product_validate_summary_changes
from .shapes import PRODUCT_DETAIL_SHAPE, PRODUCT_LIST_SHAPE, VARIANT_SHAPE

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


class PriceRangeSerializer(serializers.Serializer[Product]):
    min = serializers.DecimalField(
        source="price", max_digits=10, decimal_places=2, help_text="The price: the lowest."
    )
    max = serializers.DecimalField(source="price_max", max_digits=10, decimal_places=2)


class VariantSerializer(JSONTypesMixin, ModelSerializer[Variant]):
    """A variant of a product: its own SKU, price and stock. ``option_ids`` are the ids of its
    options on the axes of the product's type, sorted (none for a product without a type)."""

    in_stock = serializers.BooleanField(read_only=True)
    option_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=LARGEST_ID),
        required=False,
        max_length=VARIANT_MAX_OPTIONS,
        help_text="The ids of the variant's options, one per axis of the product's type.",
    )

    class Meta:
        model = Variant
        fields = list(VARIANT_SHAPE.keys)
        read_only_fields = ["id", "in_stock"]


# The product as lists show it: PRODUCT_LIST_SHAPE's keys (shapes.py), in order. A docstring
# here would change the schema, whose description of it is the docstring it inherits from
# apps.core.fields.ModelSerializer.
class ProductReadSerializer(ModelSerializer[Product]):
    category = CategorySummarySerializer()
    price_range = PriceRangeSerializer(
        source="*",
        read_only=True,
        help_text="The lowest and highest price of the active variants (of all when none is "
        "active); `min` is `price`.",
    )
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
        fields = list(PRODUCT_LIST_SHAPE.keys)
        read_only_fields = fields


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
    """A product page: the list shape plus breadcrumbs, images, variants and the rating
    summary."""

    category = CategoryWithBreadcrumbsSerializer(read_only=True)
    images = ProductImageSerializer(many=True, read_only=True)
    variants = VariantSerializer(
        many=True,
        read_only=True,
        help_text=f"The first {DETAIL_MAX_VARIANTS} variants by position: the active ones "
        "(staff who may change variants see all). Every variant: "
        "`/api/v1/products/{id}/variants/`.",
    )
    rating = RatingSummarySerializer(source="*", read_only=True)

    class Meta(ProductReadSerializer.Meta):
        fields = list(PRODUCT_DETAIL_SHAPE.keys)  # the list's keys, then images and rating
        read_only_fields = fields


# The nested serializers are shared with the categories and images: checked, not derived.
assert_serializer_matches(
    ProductReadSerializer, PRODUCT_LIST_SHAPE, shape_name="PRODUCT_LIST_SHAPE"
)
assert_serializer_matches(
    ProductDetailSerializer, PRODUCT_DETAIL_SHAPE, shape_name="PRODUCT_DETAIL_SHAPE"
)

# The product list renders hundreds of rows a second: ``ProductReadSerializer``'s JSON, built
# from ``values()`` rows by code generated from the shape rather than field by field by the
# serializer (24 rows: 0.47 ms against 2.4 ms). The detail likewise, from the one query of
# for_detail(). tests/test_serializers.py checks that both give the serializers' JSON.
PRODUCT_LIST_VALUES = (
    *PRODUCT_LIST_SHAPE.columns,
    "rating_average",  # a sort key: cursors read it from the row
)
product_list_row: Callable[[Mapping[str, Any]], dict[str, Any]] = PRODUCT_LIST_SHAPE.row_renderer(
    "product_list_row",
    doc="Return ``ProductReadSerializer``'s representation of a ``PRODUCT_LIST_VALUES`` row.",
)
product_detail_data: Callable[[Product, Any], dict[str, Any]] = (
    PRODUCT_DETAIL_SHAPE.instance_renderer(
        "product_detail_data",
        parameter="product",
        doc="Return ``ProductDetailSerializer``'s representation of ``product``, loaded by "
        "``Product.objects.for_detail()`` (breadcrumbs and images as JSON).",
    )
)


class ProductWriteSerializer(JSONTypesMixin, ModelSerializer[Product]):
    """Create or change a product; ``category`` is a category id. Answers with the read shape.

    A new product has one variant with its SKU, price and stock; changing them changes that
    variant. On a product with several variants they are their summary, and a change is a 400:
    change the variants (``/api/v1/products/{id}/variants/``)."""

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

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is not None:
            try:
                product_validate_summary_changes(product=self.instance, changes=attrs)
            except DjangoValidationError as error:
                raise serializers.ValidationError(error.message_dict) from error
        return attrs

    def to_representation(self, instance: Product) -> dict[str, Any]:
        return ProductReadSerializer(instance, context=self.context).data
