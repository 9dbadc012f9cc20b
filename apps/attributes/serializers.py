import re
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.fields import AsciiIntegerField, ModelSerializer
from apps.core.serializers import FlatErrorsMixin, JSONTypesMixin

from .limits import ATTRIBUTE_MAX_OPTIONS, PRODUCT_TYPE_MAX_ATTRIBUTES
from .models import Attribute, AttributeKind, AttributeOption, ProductType, ProductTypeAttribute
from .services import OptionData, TypeAttributeData

# Slugs stay unique (ModelSerializer's UniqueValidator) but may be left out or blank: the
# services derive one from the name (or an option's value); on an update, a blank slug keeps
# the current one.
OPTIONAL_SLUG = {
    "required": False,
    "allow_blank": True,
    "help_text": "Derived from the name when left out.",
}
POSITION_HELP = "The lowest comes first; left out, the item's place in the list."
SWATCH_COLOUR_TEXT = re.compile(r"#[0-9a-fA-F]{6}", re.ASCII)
SLUG_TEXT = re.compile(r"[-a-zA-Z0-9_]{1,140}", re.ASCII)


def required_in_partial_writes(
    attrs: dict[str, Any], field: str, *, name: str | None = None
) -> dict[str, Any]:
    """Return ``attrs`` if it has ``field``, else refuse it. A PATCH makes DRF skip the required
    fields of nested items too; but a list item given replaces a stored one whole."""
    if field not in attrs:
        raise serializers.ValidationError(
            {name or field: [serializers.Field.default_error_messages["required"]]}
        )
    return attrs


# --- reads ------------------------------------------------------------------------------------


class AttributeOptionSerializer(ModelSerializer[AttributeOption]):
    """An option of an attribute; swatches have a colour or a picture."""

    swatch_image = serializers.ImageField(
        read_only=True, allow_null=True, help_text="Swatches only: the picture's URL, or null."
    )

    class Meta:
        model = AttributeOption
        fields = ["id", "value", "slug", "position", "swatch_colour", "swatch_image"]
        read_only_fields = fields


class AttributeSerializer(ModelSerializer[Attribute]):
    """An attribute with its options in order (none unless it is a choice, multiple choice or
    swatch)."""

    options = AttributeOptionSerializer(many=True, read_only=True)

    class Meta:
        model = Attribute
        fields = [
            "id",
            "name",
            "slug",
            "kind",
            "unit",
            "is_filterable",
            "is_shown",
            "position",
            "options",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ProductTypeAttributeSerializer(ModelSerializer[ProductTypeAttribute]):
    """One attribute of a product type: the attribute's id, slug, name, kind and unit, and its
    place in the type."""

    id = serializers.IntegerField(source="attribute.id", read_only=True)
    slug = serializers.SlugField(source="attribute.slug", read_only=True)
    name = serializers.CharField(source="attribute.name", read_only=True)
    kind = serializers.ChoiceField(
        source="attribute.kind", choices=AttributeKind.choices, read_only=True
    )
    unit = serializers.CharField(source="attribute.unit", read_only=True)

    class Meta:
        model = ProductTypeAttribute
        fields = ["id", "slug", "name", "kind", "unit", "is_axis", "position"]
        read_only_fields = fields


class ProductTypeSerializer(ModelSerializer[ProductType]):
    """A product type with its attributes in order; its variants differ by the axes."""

    attributes = ProductTypeAttributeSerializer(many=True, read_only=True, source="type_attributes")

    class Meta:
        model = ProductType
        fields = ["id", "name", "slug", "has_variants", "attributes", "created_at", "updated_at"]
        read_only_fields = fields


# --- writes -----------------------------------------------------------------------------------


class AttributeOptionWriteSerializer(JSONTypesMixin, ModelSerializer[AttributeOption]):
    """An option as a write gives it. Its slug is its key: an option whose slug is stored
    already is that option (same id), changed."""

    class Meta:
        model = AttributeOption
        fields = ["value", "slug", "position", "swatch_colour"]
        extra_kwargs = {
            "slug": {**OPTIONAL_SLUG, "help_text": "Derived from the value when left out."},
            "position": {"required": False, "help_text": POSITION_HELP},
            "swatch_colour": {"help_text": "Swatches only: a colour, #rrggbb."},
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return required_in_partial_writes(attrs, "value")

    def validate_swatch_colour(self, value: str) -> str:
        if value and not SWATCH_COLOUR_TEXT.fullmatch(value):
            raise serializers.ValidationError("Enter a colour as #rrggbb.")
        return value.lower()


class AttributeWriteSerializer(FlatErrorsMixin, JSONTypesMixin, ModelSerializer[Attribute]):
    """An attribute as staff write it, with its options. ``options``, when given, replaces the
    stored list whole: options whose slug is stored keep their id, the others are deleted."""

    options = AttributeOptionWriteSerializer(
        many=True,
        required=False,
        max_length=ATTRIBUTE_MAX_OPTIONS,  # type: ignore[call-arg]  # ListSerializer's
        help_text="Choice, multiple choice and swatch attributes only; in order. Left out, the "
        "stored options stay.",
    )

    class Meta:
        model = Attribute
        fields = [
            "name",
            "slug",
            "kind",
            "unit",
            "is_filterable",
            "is_shown",
            "position",
            "options",
        ]
        extra_kwargs = {"slug": OPTIONAL_SLUG}

    def to_representation(self, instance: Attribute) -> dict[str, Any]:
        return AttributeSerializer(instance, context=self.context).data

    def service_arguments(self) -> dict[str, Any]:
        """Return the validated data as the services take it."""
        data = dict(self.validated_data)
        if "options" in data:
            data["options"] = [OptionData(**option) for option in data["options"]]
        return data


@extend_schema_field({"type": "string", "pattern": "^[-a-zA-Z0-9_]+$", "maxLength": 140})
class AttributeSlugField(serializers.SlugRelatedField[Attribute]):
    """An attribute given by its slug: a string that is a slug, or a 400 before any query (a
    number, a NUL or a lone surrogate would otherwise reach the database)."""

    default_error_messages = {
        "invalid": "Must be the slug of an attribute: letters, digits, hyphens, underscores.",
    }

    def to_internal_value(self, data: Any) -> Attribute:
        if not isinstance(data, str) or not SLUG_TEXT.fullmatch(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class ProductTypeAttributeWriteSerializer(JSONTypesMixin, serializers.Serializer[Any]):
    """An attribute of a product type as a write gives it, by slug."""

    slug = AttributeSlugField(
        slug_field="slug",
        queryset=Attribute.objects.all(),
        source="attribute",
        help_text="The attribute's slug.",
    )
    is_axis = serializers.BooleanField(
        default=False,
        help_text="A variant axis: a choice or swatch attribute of a type with variants.",
    )
    position = AsciiIntegerField(
        min_value=0, max_value=2**31 - 1, required=False, help_text=POSITION_HELP
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return required_in_partial_writes(attrs, "attribute", name="slug")


class ProductTypeWriteSerializer(FlatErrorsMixin, JSONTypesMixin, ModelSerializer[ProductType]):
    """A product type as staff write it, with its attributes. ``attributes``, when given,
    replaces the stored list whole; the attributes it keeps keep their place's row."""

    attributes = ProductTypeAttributeWriteSerializer(
        many=True,
        required=False,
        max_length=PRODUCT_TYPE_MAX_ATTRIBUTES,  # type: ignore[call-arg]  # ListSerializer's
        help_text="In order. Left out, the stored list stays.",
    )

    class Meta:
        model = ProductType
        fields = ["name", "slug", "has_variants", "attributes"]
        extra_kwargs = {"slug": OPTIONAL_SLUG}

    def to_representation(self, instance: ProductType) -> dict[str, Any]:
        return ProductTypeSerializer(instance, context=self.context).data

    def service_arguments(self) -> dict[str, Any]:
        """Return the validated data as the services take it."""
        data = dict(self.validated_data)
        if "attributes" in data:
            data["attributes"] = [TypeAttributeData(**item) for item in data["attributes"]]
        return data
