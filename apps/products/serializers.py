from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.attributes.models import AttributeKind, ProductType
from apps.attributes.serializers import SLUG_TEXT
from apps.core.fields import ModelSerializer
from apps.core.serializers import FlatErrorsMixin, JSONTypesMixin
from apps.core.shapes import assert_serializer_matches

from .images import validate_product_image
from .limits import VARIANT_MAX_OPTIONS
from .models import DETAIL_MAX_VARIANTS, Category, Product, ProductImage, Variant
from .services import category_validate_parent, product_validate_summary_changes
from .shapes import (
    PRODUCT_DETAIL_SHAPE,
    PRODUCT_LIST_ROW_SHAPE,
    PRODUCT_LIST_SHAPE,
    VARIANT_SHAPE,
    attribute_values_json,
    axis_options_json,
)

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


SLUG_SCHEMA = {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$", "maxLength": 140}
OPTIONS_HELP = (
    "One option of each variant axis of the product's type, `{axis_slug: option_slug}` "
    "(`{}` for a product without axes)."
)


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": SLUG_SCHEMA,
        "maxProperties": VARIANT_MAX_OPTIONS,
        "example": {"size": "m", "colour": "red"},
    }
)
class VariantOptionsField(serializers.DictField):
    """A variant's options, ``{axis_slug: option_slug}``: strings that are slugs, or a 400
    naming the axis before any query."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.CharField(), **kwargs)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        value = super().to_internal_value(data)
        if len(value) > VARIANT_MAX_OPTIONS:
            raise serializers.ValidationError(
                f"A variant has at most {VARIANT_MAX_OPTIONS} options."
            )
        errors = {
            key: ["Must be an option's slug: letters, digits, hyphens, underscores."]
            for key, slug in value.items()
            if not SLUG_TEXT.fullmatch(slug)
        }
        errors.update(
            {key: ["Must be an axis's slug."] for key in value if not SLUG_TEXT.fullmatch(key)}
        )
        if errors:
            raise serializers.ValidationError(errors)
        return dict(value)


class VariantSerializer(JSONTypesMixin, ModelSerializer[Variant]):
    """A variant of a product: its own SKU, price and stock, and its options on the axes of the
    product's type, ``{axis_slug: option_slug}`` (none for a product without axes)."""

    in_stock = serializers.BooleanField(read_only=True)
    options = VariantOptionsField(required=False, help_text=OPTIONS_HELP)

    class Meta:
        model = Variant
        fields = list(VARIANT_SHAPE.keys)
        read_only_fields = ["id", "in_stock"]


class ProductVariantWriteSerializer(VariantSerializer):
    """A variant given with a new product."""

    class Meta(VariantSerializer.Meta):
        fields = ["sku", "price", "stock", "is_active", "position", "options"]
        read_only_fields = []
        # The SKU's uniqueness is checked with the product's other variants, each named.
        extra_kwargs: dict[str, Any] = {"sku": {"validators": []}}


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


@extend_schema_field(
    {
        "type": "object",
        "nullable": True,
        "properties": {"id": {"type": "integer"}, "sku": {"type": "string"}},
        "required": ["id", "sku"],
        "example": {"id": 5127, "sku": "OX-M-RED"},
    }
)
class MatchedVariantField(serializers.JSONField):
    """The variant a search by SKU found, ``{"id", "sku"}``, or null."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, allow_null=True, **kwargs)


# A row of the product list: the product as lists show it, and which variant's SKU the search
# was (PRODUCT_LIST_ROW_SHAPE). Without a docstring, as ProductReadSerializer.
class ProductListSerializer(ProductReadSerializer):
    matched_variant = MatchedVariantField(
        help_text="With `search`: the variant whose SKU the search is, exactly (any case), "
        "`{id, sku}`; null when the product matched by its words, and without `search`.",
    )

    class Meta(ProductReadSerializer.Meta):
        fields = list(PRODUCT_LIST_ROW_SHAPE.keys)
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


ATTRIBUTE_SUMMARY_SCHEMA = {
    "type": "object",
    "properties": {
        "slug": {"type": "string"},
        "name": {"type": "string"},
        "kind": {"type": "string", "enum": list(AttributeKind.values)},
        "unit": {"type": "string", "description": "Numbers only; empty otherwise."},
    },
    "required": ["slug", "name", "kind", "unit"],
}
OPTION_VALUE_SCHEMA = {
    "type": "object",
    "properties": {
        "slug": {"type": "string"},
        "value": {"type": "string"},
        "swatch_colour": {"type": "string", "nullable": True, "example": "#d01c1f"},
        "swatch_image": {"type": "string", "format": "uri", "nullable": True},
    },
    "required": ["slug", "value", "swatch_colour", "swatch_image"],
}


@extend_schema_field(
    {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "attribute": ATTRIBUTE_SUMMARY_SCHEMA,
                "value": {
                    "oneOf": [
                        {"type": "string", "description": "Text, a number or a date."},
                        {"type": "boolean"},
                        OPTION_VALUE_SCHEMA,
                        {"type": "array", "items": OPTION_VALUE_SCHEMA},
                    ]
                },
            },
            "required": ["attribute", "value"],
        },
        "example": [
            {
                "attribute": {"slug": "material", "name": "Material", "kind": "text", "unit": ""},
                "value": "Organic cotton",
            },
            {
                "attribute": {"slug": "weight", "name": "Weight", "kind": "number", "unit": "g"},
                "value": "180.5",
            },
        ],
    }
)
class ProductAttributesField(serializers.Field):
    """``attributes_data`` (for_detail()) with swatch pictures as URLs."""

    def to_representation(self, value: Any) -> Any:
        return attribute_values_json(value, self.context.get("request"))


@extend_schema_field(
    {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "attribute": ATTRIBUTE_SUMMARY_SCHEMA,
                "values": {"type": "array", "items": OPTION_VALUE_SCHEMA},
            },
            "required": ["attribute", "values"],
        },
        "example": [
            {
                "attribute": {"slug": "size", "name": "Size", "kind": "choice", "unit": ""},
                "values": [
                    {"slug": "s", "value": "S", "swatch_colour": None, "swatch_image": None},
                    {"slug": "m", "value": "M", "swatch_colour": None, "swatch_image": None},
                ],
            }
        ],
    }
)
class AxisOptionsField(serializers.Field):
    """``options_data`` (for_detail()) with swatch pictures as URLs."""

    def to_representation(self, value: Any) -> Any:
        return axis_options_json(value, self.context.get("request"))


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
    attributes = ProductAttributesField(
        source="attributes_data",
        read_only=True,
        help_text="The product's shown attribute values, in its type's order. A value is text, "
        "a number (a decimal string), a boolean, a date (YYYY-MM-DD), an option, or for a "
        "multiple choice a list of options.",
    )
    options = AxisOptionsField(
        source="options_data",
        read_only=True,
        help_text="Each variant axis of the product's type with the options its active "
        "variants have, in the attribute's order: what a shopper picks from.",
    )
    rating = RatingSummarySerializer(source="*", read_only=True)

    class Meta(ProductReadSerializer.Meta):
        # The list's keys, then images, variants, attributes, options and rating.
        fields = list(PRODUCT_DETAIL_SHAPE.keys)
        read_only_fields = fields


# The nested serializers are shared with the categories and images: checked, not derived.
assert_serializer_matches(
    ProductReadSerializer, PRODUCT_LIST_SHAPE, shape_name="PRODUCT_LIST_SHAPE"
)
assert_serializer_matches(
    ProductListSerializer, PRODUCT_LIST_ROW_SHAPE, shape_name="PRODUCT_LIST_ROW_SHAPE"
)
assert_serializer_matches(
    ProductDetailSerializer, PRODUCT_DETAIL_SHAPE, shape_name="PRODUCT_DETAIL_SHAPE"
)

# The product list renders hundreds of rows a second: ``ProductListSerializer``'s JSON, built
# from ``values()`` rows by code generated from the shape rather than field by field by the
# serializer (24 rows: 0.47 ms against 2.4 ms). The detail likewise, from the one query of
# for_detail(). tests/test_serializers.py checks that both give the serializers' JSON.
PRODUCT_LIST_VALUES = (
    *PRODUCT_LIST_SHAPE.columns,
    "rating_average",  # a sort key: cursors read it from the row
)
# A search's rows hold ``matched_variant`` too (apps.products.listing); others get None.
product_list_row: Callable[[Mapping[str, Any]], dict[str, Any]] = (
    PRODUCT_LIST_ROW_SHAPE.row_renderer(
        "product_list_row",
        doc="Return ``ProductListSerializer``'s representation of a ``PRODUCT_LIST_VALUES`` row "
        "with ``matched_variant``.",
    )
)
product_detail_data: Callable[[Product, Any], dict[str, Any]] = (
    PRODUCT_DETAIL_SHAPE.instance_renderer(
        "product_detail_data",
        parameter="product",
        doc="Return ``ProductDetailSerializer``'s representation of ``product``, loaded by "
        "``Product.objects.for_detail()`` (breadcrumbs and images as JSON).",
    )
)


@extend_schema_field({**SLUG_SCHEMA, "nullable": True})
class ProductTypeSlugField(serializers.SlugRelatedField[ProductType]):
    """A product type given by its slug: a string that is a slug, or a 400 before any query."""

    default_error_messages = {
        "invalid": "Must be the slug of a product type: letters, digits, hyphens, underscores.",
    }

    def run_validation(self, data: Any = serializers.empty) -> Any:
        # DRF reads "" as null for a related field; the schema says a slug or null.
        if data == "":
            self.fail("invalid")
        return super().run_validation(data)

    def to_internal_value(self, data: Any) -> ProductType:
        if not isinstance(data, str) or not SLUG_TEXT.fullmatch(data):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {
            "nullable": True,
            "oneOf": [
                {"type": "string"},
                {"type": "number"},
                {"type": "boolean"},
                {"type": "array", "items": {"type": "string"}},
            ],
        },
        "example": {"material": "Organic cotton", "weight": 180.5, "organic": True},
    }
)
class AttributeValuesField(serializers.DictField):
    """``{attribute_slug: value}``, checked against the product's type by the service."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.JSONField(), **kwargs)


class ProductWriteSerializer(FlatErrorsMixin, JSONTypesMixin, ModelSerializer[Product]):
    """Create or change a product; ``category`` is a category id, ``product_type`` a type's
    slug. Answers with the read shape.

    ``attributes`` gives the values of the type's (non-axis) attributes, ``{slug: value}``: a
    text, a number (or a numeric string), true or false, a date (YYYY-MM-DD), an option's slug,
    or for a multiple choice a list of option slugs; each is optional. Given, it replaces all of
    the product's values; a new type without it keeps them, if they fit the type.

    A new product has one variant with its SKU, price and stock; changing them changes that
    variant. Or it is created with its ``variants`` (one option of each axis of its type each),
    and then takes no SKU, price or stock of its own: they are its variants' summary. On a
    product with several variants they are their summary, and a change is a 400: change the
    variants (``/api/v1/products/{id}/variants/``). Errors name nested fields by their path:
    ``variants[2].options.size``, ``attributes.weight``."""

    product_type = ProductTypeSlugField(
        slug_field="slug",
        queryset=ProductType.objects.all(),
        required=False,
        allow_null=True,
        help_text="The product type's slug; null for none (no attributes, one variant).",
    )
    attributes = AttributeValuesField(
        required=False,
        help_text="The values of the type's attributes, `{attribute_slug: value}`; given, it "
        "replaces the stored ones.",
    )
    variants = ProductVariantWriteSerializer(
        many=True,
        required=False,
        min_length=1,  # type: ignore[call-arg]  # ListSerializer's
        max_length=settings.CATALOGUE_MAX_VARIANTS_PER_PRODUCT,
        help_text="Creation only: the product's variants, instead of its own sku, price and stock.",
    )

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
            "product_type",
            "attributes",
            "variants",
        ]
        extra_kwargs = {
            "slug": OPTIONAL_SLUG,
            "sku": {"required": False, "help_text": "Required unless `variants` are given."},
            "price": {"required": False, "help_text": "Required unless `variants` are given."},
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is not None:
            if "variants" in attrs:
                raise serializers.ValidationError(
                    {"variants": "Change the variants at /api/v1/products/{id}/variants/."}
                )
            try:
                product_validate_summary_changes(product=self.instance, changes=attrs)
            except DjangoValidationError as error:
                raise serializers.ValidationError(error.message_dict) from error
            return attrs
        if attrs.get("variants"):
            given = [field for field in ("sku", "price", "stock") if field in attrs]
            if given:
                message = "Give it per variant: with variants the product's is their summary."
                raise serializers.ValidationError(dict.fromkeys(given, message))
        return attrs

    def to_internal_value(self, data: Any) -> Any:
        # A new product without variants needs its SKU and price, and so does a full update
        # (PUT): reported with the other fields' errors, as a required field's would be.
        missing = {}
        if isinstance(data, Mapping) and (
            (self.instance is None and not data.get("variants"))
            or (self.instance is not None and not self.partial)
        ):
            missing = {
                field: ["This field is required."]
                for field in ("sku", "price")
                if field not in data
            }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if missing and isinstance(error.detail, Mapping):
                raise serializers.ValidationError({**missing, **error.detail}) from error
            raise
        if missing:
            raise serializers.ValidationError(missing)
        return value

    def to_representation(self, instance: Product) -> dict[str, Any]:
        return ProductReadSerializer(instance, context=self.context).data
