"""What staff define once and reuse to describe products: typed attributes, the options of the
choice attributes, and product types (which attributes describe a product of the type, and
which of them are its variant axes). See docs/variants.md."""

import uuid
from typing import ClassVar

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Prefetch, Q

from apps.core.database_rules import register_database_rule
from apps.core.models import TimeStampedModel


class AttributeKind(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    BOOLEAN = "boolean", "Yes or no"
    DATE = "date", "Date"
    CHOICE = "choice", "Choice"
    MULTIPLE_CHOICE = "multiple_choice", "Multiple choice"
    SWATCH = "swatch", "Swatch"


# The kinds whose values are options (AttributeOption rows).
KINDS_WITH_OPTIONS = frozenset(
    {AttributeKind.CHOICE, AttributeKind.MULTIPLE_CHOICE, AttributeKind.SWATCH}
)
# The kinds a variant axis may have: one option per variant.
AXIS_KINDS = frozenset({AttributeKind.CHOICE, AttributeKind.SWATCH})

SWATCH_COLOUR_PATTERN = r"^#[0-9a-f]{6}$"

# Rules the triggers hold (apps/attributes/sql/), by the constraint name they raise, each
# reported by the API on the field named here (apps.core.exceptions).
OPTION_KIND_RULE = "attributes_option_of_choice_attribute"
OPTION_KIND_MESSAGE = "Only choice, multiple choice and swatch attributes have options."
OPTION_SWATCH_RULE = "attributes_option_swatch_of_swatch_attribute"
OPTION_SWATCH_MESSAGE = "Only the options of a swatch attribute have a swatch colour or image."
ATTRIBUTE_KIND_OPTIONS_RULE = "attributes_attribute_kind_keeps_options"
ATTRIBUTE_KIND_OPTIONS_MESSAGE = (
    "This attribute has options: it stays a choice, multiple choice or swatch attribute (and a "
    "swatch while its options have swatches); remove the options first."
)
ATTRIBUTE_KIND_AXIS_RULE = "attributes_attribute_kind_keeps_axis"
ATTRIBUTE_KIND_AXIS_MESSAGE = (
    "This attribute is a variant axis of a product type: it stays a choice or swatch attribute."
)
AXIS_KIND_RULE = "attributes_axis_of_choice_or_swatch"
AXIS_KIND_MESSAGE = "A variant axis is a choice or swatch attribute."
AXIS_VARIANTS_RULE = "attributes_axis_of_type_with_variants"
AXIS_VARIANTS_MESSAGE = "Only a product type with variants has variant axes."
TYPE_VARIANTS_RULE = "attributes_type_with_axes_has_variants"
TYPE_VARIANTS_MESSAGE = "This product type has variant axes: it keeps its variants."

register_database_rule(OPTION_KIND_RULE, field="options", message=OPTION_KIND_MESSAGE)
register_database_rule(OPTION_SWATCH_RULE, field="options", message=OPTION_SWATCH_MESSAGE)
register_database_rule(
    ATTRIBUTE_KIND_OPTIONS_RULE, field="kind", message=ATTRIBUTE_KIND_OPTIONS_MESSAGE
)
register_database_rule(ATTRIBUTE_KIND_AXIS_RULE, field="kind", message=ATTRIBUTE_KIND_AXIS_MESSAGE)
register_database_rule(AXIS_KIND_RULE, field="attributes", message=AXIS_KIND_MESSAGE)
register_database_rule(AXIS_VARIANTS_RULE, field="attributes", message=AXIS_VARIANTS_MESSAGE)
register_database_rule(TYPE_VARIANTS_RULE, field="has_variants", message=TYPE_VARIANTS_MESSAGE)


class AttributeQuerySet(models.QuerySet["Attribute"]):
    def filterable(self) -> "AttributeQuerySet":
        """Return the attributes a product list can be filtered by."""
        return self.filter(is_filterable=True)

    def with_options(self) -> "AttributeQuerySet":
        """Return attributes with their options in order: one more query for all of them."""
        return self.prefetch_related(
            Prefetch("options", queryset=AttributeOption.objects.order_by("position", "id"))
        )

    def for_list(self) -> "AttributeQuerySet":
        """Return attributes with everything a list row renders (their options): two queries."""
        return self.with_options()

    def for_detail(self) -> "AttributeQuerySet":
        """Return attributes with everything their page renders (their options): two queries."""
        return self.with_options()


class Attribute(TimeStampedModel):
    """A typed property of products (size, colour, storage, author), defined once."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    kind = models.CharField(max_length=20, choices=AttributeKind.choices)
    unit = models.CharField(
        max_length=20, blank=True, help_text="Numbers only: the unit of the value (GB, cm, in)."
    )
    is_filterable = models.BooleanField(
        "filterable", default=False, help_text="Product lists can be filtered by it."
    )
    is_shown = models.BooleanField("shown", default=True, help_text="Shown on the product page.")
    position = models.PositiveIntegerField(default=0)

    objects: ClassVar[AttributeQuerySet] = AttributeQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["position", "name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=AttributeKind.values),
                name="attributes_attribute_kind_valid",
                violation_error_message="Choose a kind among: "
                + ", ".join(AttributeKind.values)
                + ".",
            ),
            models.CheckConstraint(
                condition=Q(kind=AttributeKind.NUMBER) | Q(unit=""),
                name="attributes_attribute_unit_only_for_numbers",
                violation_error_message="Only a number attribute has a unit.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_options(self) -> bool:
        """Return whether the attribute's values are options."""
        return self.kind in KINDS_WITH_OPTIONS

    @property
    def is_swatch(self) -> bool:
        return self.kind == AttributeKind.SWATCH

    @property
    def can_be_axis(self) -> bool:
        """Return whether the attribute may be a variant axis."""
        return self.kind in AXIS_KINDS


def swatch_image_path(option: "AttributeOption", filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower()
    return f"swatches/{option.attribute_id}/{uuid.uuid4().hex}.{extension}"


class AttributeOption(models.Model):
    """One of a choice attribute's values; the lowest ``position`` comes first."""

    # Indexed by the unique (attribute, slug) and the (attribute, position) order.
    attribute = models.ForeignKey(
        Attribute, on_delete=models.CASCADE, related_name="options", db_index=False
    )
    value = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140)
    position = models.PositiveIntegerField(default=0)
    swatch_colour = models.CharField(
        max_length=7, blank=True, help_text="Swatches only: a colour, #rrggbb (lower case)."
    )
    swatch_image = models.ImageField(
        upload_to=swatch_image_path, blank=True, help_text="Swatches only: a picture."
    )

    class Meta:
        ordering = ["position", "id"]
        indexes = [
            models.Index(fields=["attribute", "position", "id"], name="attributeoption_order")
        ]
        constraints = [
            # Also the index of the options by attribute.
            models.UniqueConstraint(
                fields=["attribute", "slug"],
                name="attributes_option_slug_unique_per_attribute",
                violation_error_message="This attribute already has an option with this slug.",
            ),
            models.CheckConstraint(
                condition=Q(swatch_colour="") | Q(swatch_colour__regex=SWATCH_COLOUR_PATTERN),
                name="attributes_option_swatch_colour_format",
                violation_error_message="Enter a colour as #rrggbb, in lower case.",
            ),
        ]

    def __str__(self) -> str:
        return self.value

    def clean(self) -> None:
        """Refuse an option of an attribute without options, and a swatch of a non-swatch."""
        super().clean()
        if self.attribute_id is None:
            return
        attribute = self.attribute
        if not attribute.has_options:
            raise ValidationError(OPTION_KIND_MESSAGE)
        if (self.swatch_colour or self.swatch_image) and not attribute.is_swatch:
            field = "swatch_colour" if self.swatch_colour else "swatch_image"
            raise ValidationError({field: OPTION_SWATCH_MESSAGE})


class ProductTypeQuerySet(models.QuerySet["ProductType"]):
    def with_attributes(self) -> "ProductTypeQuerySet":
        """Return types with their attributes in order, each with its attribute: one more query."""
        return self.prefetch_related(
            Prefetch(
                "type_attributes",
                queryset=ProductTypeAttribute.objects.select_related("attribute").order_by(
                    "position", "id"
                ),
            )
        )

    def for_list(self) -> "ProductTypeQuerySet":
        """Return types with everything a list row renders (their attributes): two queries."""
        return self.with_attributes()

    def for_detail(self) -> "ProductTypeQuerySet":
        """Return types with everything their page renders (their attributes): two queries."""
        return self.with_attributes()


class ProductType(TimeStampedModel):
    """A kind of product (a T-shirt, a phone, a book): the attributes that describe it, and
    whether it is sold as variants along some of them (its axes)."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    has_variants = models.BooleanField(
        default=False, help_text="Its products are sold as variants along its axes."
    )

    objects: ClassVar[ProductTypeQuerySet] = ProductTypeQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class ProductTypeAttribute(models.Model):
    """An attribute of a product type, in order; an axis when the type's variants differ by it."""

    # Indexed by the unique (product_type, attribute).
    product_type = models.ForeignKey(
        ProductType, on_delete=models.CASCADE, related_name="type_attributes", db_index=False
    )
    # An attribute in use by a type is not deleted with it: the type would lose it silently.
    attribute = models.ForeignKey(
        Attribute, on_delete=models.PROTECT, related_name="type_attributes"
    )
    is_axis = models.BooleanField(
        "variant axis", default=False, help_text="The type's variants differ by it."
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "product type attribute"
        ordering = ["position", "id"]
        constraints = [
            # Also the index of a type's attributes.
            models.UniqueConstraint(
                fields=["product_type", "attribute"],
                name="attributes_type_attribute_once",
                violation_error_message="This attribute is already one of the type's.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_type} / {self.attribute}"

    def clean(self) -> None:
        """Refuse an axis that is not a choice or swatch attribute, or of a type without
        variants."""
        super().clean()
        if not self.is_axis:
            return
        if self.attribute_id is not None and not self.attribute.can_be_axis:
            raise ValidationError({"is_axis": AXIS_KIND_MESSAGE})
        if self.product_type_id is not None and not self.product_type.has_variants:
            raise ValidationError({"is_axis": AXIS_VARIANTS_MESSAGE})
