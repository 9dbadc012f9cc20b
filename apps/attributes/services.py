"""Writes of attributes and product types, each whole and atomic.

An attribute is written with its options, a product type with its attribute list: a list given
replaces the stored one, keeping the rows it matches (options by slug, a type's attributes by
attribute) so that their ids stay stable. The rules checked here are held by the database too
(apps/attributes/sql/); these checks name the nested field of a request (``options[2].slug``).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.utils.text import slugify

from .models import (
    ATTRIBUTE_KIND_AXIS_MESSAGE,
    ATTRIBUTE_KIND_OPTIONS_MESSAGE,
    AXIS_KIND_MESSAGE,
    AXIS_KINDS,
    AXIS_VARIANTS_MESSAGE,
    KINDS_WITH_OPTIONS,
    OPTION_KIND_MESSAGE,
    OPTION_SWATCH_MESSAGE,
    TYPE_VARIANTS_MESSAGE,
    Attribute,
    AttributeKind,
    AttributeOption,
    ProductType,
    ProductTypeAttribute,
)

SLUG_MAX_LENGTH = 140
UNIT_MESSAGE = "Only a number attribute has a unit."


@dataclass(frozen=True)
class OptionData:
    """One option as a write gives it; a blank slug is derived from the value, and a position
    left out is the option's place in the list."""

    value: str
    slug: str = ""
    position: int | None = None
    swatch_colour: str = ""


@dataclass(frozen=True)
class TypeAttributeData:
    """One attribute of a product type as a write gives it."""

    attribute: Attribute
    is_axis: bool = False
    position: int | None = None


@dataclass
class _Errors:
    """Errors collected by field name, raised together."""

    by_field: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.by_field.setdefault(name, []).append(message)

    def raise_any(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)


def unique_slug(model: type[Attribute | ProductType], text: str, *, fallback: str) -> str:
    """Return ``slugify(text)``, suffixed with -2, -3 ... until no row of ``model`` uses it."""
    base = _slug_base(text, fallback)
    taken = set(model._default_manager.filter(slug__startswith=base).values_list("slug", flat=True))
    slug, number = base, 2
    while slug in taken:
        slug, number = f"{base}-{number}", number + 1
    return slug


def _slug_base(text: str, fallback: str) -> str:
    # Room left for a suffix within the slug columns' 140 characters.
    return slugify(text)[: SLUG_MAX_LENGTH - 8].strip("-") or fallback


# --- attributes -------------------------------------------------------------------------------


@transaction.atomic
def attribute_create(
    *,
    name: str,
    kind: str,
    slug: str = "",
    unit: str = "",
    is_filterable: bool = False,
    is_shown: bool = True,
    position: int = 0,
    options: Sequence[OptionData] = (),
) -> Attribute:
    """Create an attribute with its options; the slugs are derived when not given."""
    attribute = Attribute(
        name=name,
        slug=slug or unique_slug(Attribute, name, fallback="attribute"),
        kind=kind,
        unit=unit,
        is_filterable=is_filterable,
        is_shown=is_shown,
        position=position,
    )
    _check_attribute(attribute, options=options, existing_options=None)
    attribute.save()
    _replace_options(attribute, options)
    return attribute


@transaction.atomic
def attribute_update(
    *, attribute: Attribute, options: Sequence[OptionData] | None = None, **fields: Any
) -> Attribute:
    """Change an attribute's fields and, when ``options`` is given, replace its options with
    them: options matched by slug keep their id (and swatch image), the others are deleted."""
    # Locked: the checks below read its options and axes, which writers of them read FOR SHARE.
    attribute = Attribute.objects.select_for_update().get(pk=attribute.pk)
    for name, value in fields.items():
        if name == "slug" and not value:
            continue  # a blank slug keeps the current one
        setattr(attribute, name, value)
    existing = None if options is not None else list(attribute.options.all())
    _check_attribute(attribute, options=options, existing_options=existing)
    if attribute.kind not in AXIS_KINDS and attribute.type_attributes.filter(is_axis=True).exists():
        raise ValidationError({"kind": ATTRIBUTE_KIND_AXIS_MESSAGE})
    if options is not None:
        # What the new kind no longer allows goes before it changes (the database checks each
        # write): the options left out, and the swatches of a kind that is no swatch.
        left_out = attribute.options.exclude(slug__in=_option_slugs(options))
        swatch_files_delete_on_commit(_swatch_files(left_out))
        _delete_options(left_out)
        if attribute.kind != AttributeKind.SWATCH:
            swatch_files_delete_on_commit(_swatch_files(attribute.options.all()))
            attribute.options.update(swatch_colour="", swatch_image="")
    attribute.save()
    if options is not None:
        _replace_options(attribute, options)
    return attribute


def attribute_delete(*, attribute: Attribute) -> None:
    """Delete an attribute and its options and, once committed, their swatch pictures; refused
    (ProtectedError) while a type uses it."""
    with transaction.atomic():
        names = _swatch_files(AttributeOption.objects.filter(attribute=attribute))
        attribute.delete()
        swatch_files_delete_on_commit(names)


def swatch_files_delete_on_commit(names: Sequence[str]) -> None:
    """Delete the stored swatch pictures ``names`` once the transaction commits (a rolled-back
    write must not lose the files its rows still name)."""
    names = [name for name in names if name]
    if not names:
        return

    def delete() -> None:
        for name in names:
            default_storage.delete(name)

    transaction.on_commit(delete)


def _swatch_files(options: "models.QuerySet[AttributeOption]") -> list[str]:
    return list(options.exclude(swatch_image="").values_list("swatch_image", flat=True))


def _check_attribute(
    attribute: Attribute,
    *,
    options: Sequence[OptionData] | None,
    existing_options: Sequence[AttributeOption] | None,
) -> None:
    errors = _Errors()
    if attribute.unit and attribute.kind != AttributeKind.NUMBER:
        errors.add("unit", UNIT_MESSAGE)
    if options is not None:
        if options and attribute.kind not in KINDS_WITH_OPTIONS:
            errors.add("options", OPTION_KIND_MESSAGE)
        elif attribute.kind != AttributeKind.SWATCH:
            for index, option in enumerate(options):
                if option.swatch_colour:
                    errors.add(f"options[{index}].swatch_colour", OPTION_SWATCH_MESSAGE)
        explicit: dict[str, int] = {}
        for index, option in enumerate(options):
            if option.slug and option.slug in explicit:
                errors.add(
                    f"options[{index}].slug",
                    f"options[{explicit[option.slug]}] has this slug already.",
                )
            explicit.setdefault(option.slug, index)
    elif existing_options and not _options_fit(attribute.kind, existing_options):
        errors.add("kind", ATTRIBUTE_KIND_OPTIONS_MESSAGE)
    errors.raise_any()


def _options_fit(kind: str, options: Sequence[AttributeOption]) -> bool:
    """Return whether stored ``options`` may be the options of a ``kind`` attribute."""
    if kind == AttributeKind.SWATCH:
        return True
    return kind in KINDS_WITH_OPTIONS and not any(
        option.swatch_colour or option.swatch_image for option in options
    )


def _option_slugs(options: Sequence[OptionData]) -> list[str]:
    """Return each option's slug: its own, or one derived from its value that no other option
    of the list has."""
    taken = {option.slug for option in options if option.slug}
    slugs = []
    for option in options:
        if option.slug:
            slugs.append(option.slug)
            continue
        base = _slug_base(option.value, "option")
        slug, number = base, 2
        while slug in taken:
            slug, number = f"{base}-{number}", number + 1
        taken.add(slug)
        slugs.append(slug)
    return slugs


OPTIONS_IN_USE_MESSAGE = "Products have these options, which the list leaves out: {}."


def _delete_options(options: "models.QuerySet[AttributeOption]") -> None:
    """Delete ``options``, or refuse (a 400 on ``options``) those that products' attribute
    values use (their foreign key protects them)."""
    try:
        with transaction.atomic():
            options.delete()
    except models.ProtectedError as error:
        # The protecting rows are products' values (apps.products, which this app does not
        # import): each names its option.
        rows: Any = error.protected_objects
        used = sorted({str(row.option.slug) for row in rows})
        raise ValidationError(
            {"options": OPTIONS_IN_USE_MESSAGE.format(", ".join(used))}
        ) from error


def _replace_options(attribute: Attribute, options: Sequence[OptionData]) -> None:
    """Make ``options`` the attribute's options, in their order: update those whose slug is
    stored, delete the others stored, create the new ones."""
    slugs = _option_slugs(options)
    stored = {option.slug: option for option in attribute.options.all()} if attribute.pk else {}
    _delete_options(AttributeOption.objects.filter(attribute=attribute).exclude(slug__in=slugs))
    is_swatch = attribute.kind == AttributeKind.SWATCH
    to_update, to_create = [], []
    for index, (option, slug) in enumerate(zip(options, slugs, strict=True)):
        position = index if option.position is None else option.position
        row = stored.get(slug)
        if row is None:
            row = AttributeOption(attribute=attribute, slug=slug)
            to_create.append(row)
        else:
            to_update.append(row)
        row.value = option.value
        row.position = position
        row.swatch_colour = option.swatch_colour.lower()
        if not is_swatch:
            row.swatch_image = ""
    if to_update:
        AttributeOption.objects.bulk_update(
            to_update, ["value", "position", "swatch_colour", "swatch_image"]
        )
    AttributeOption.objects.bulk_create(to_create)


# --- product types ----------------------------------------------------------------------------


@transaction.atomic
def product_type_create(
    *,
    name: str,
    slug: str = "",
    has_variants: bool = False,
    attributes: Sequence[TypeAttributeData] = (),
) -> ProductType:
    """Create a product type with its attributes; the slug is derived when not given."""
    product_type = ProductType(
        name=name,
        slug=slug or unique_slug(ProductType, name, fallback="type"),
        has_variants=has_variants,
    )
    _check_type_attributes(product_type, attributes)
    product_type.save()
    _replace_type_attributes(product_type, attributes)
    return product_type


@transaction.atomic
def product_type_update(
    *,
    product_type: ProductType,
    attributes: Sequence[TypeAttributeData] | None = None,
    **fields: Any,
) -> ProductType:
    """Change a product type's fields and, when ``attributes`` is given, replace its attribute
    list with it: the attributes it keeps keep their row (and id)."""
    product_type = ProductType.objects.select_for_update().get(pk=product_type.pk)
    for name, value in fields.items():
        if name == "slug" and not value:
            continue
        setattr(product_type, name, value)
    if attributes is not None:
        _check_type_attributes(product_type, attributes)
    elif (
        not product_type.has_variants and product_type.type_attributes.filter(is_axis=True).exists()
    ):
        raise ValidationError({"has_variants": TYPE_VARIANTS_MESSAGE})
    if product_type.has_variants:
        # On before the axes come; off after they go (the database checks each write).
        product_type.save()
    if attributes is not None:
        _replace_type_attributes(product_type, attributes)
    if not product_type.has_variants:
        product_type.save()
    return product_type


def product_type_delete(*, product_type: ProductType) -> None:
    """Delete a product type and its attribute list."""
    product_type.delete()


def _check_type_attributes(
    product_type: ProductType, attributes: Sequence[TypeAttributeData]
) -> None:
    errors = _Errors()
    seen: dict[int, int] = {}
    for index, item in enumerate(attributes):
        if item.attribute.pk in seen:
            errors.add(
                f"attributes[{index}].slug",
                f"attributes[{seen[item.attribute.pk]}] is this attribute already.",
            )
        seen.setdefault(item.attribute.pk, index)
        if item.is_axis and item.attribute.kind not in AXIS_KINDS:
            errors.add(f"attributes[{index}].is_axis", AXIS_KIND_MESSAGE)
        elif item.is_axis and not product_type.has_variants:
            errors.add(f"attributes[{index}].is_axis", AXIS_VARIANTS_MESSAGE)
    errors.raise_any()


def _replace_type_attributes(
    product_type: ProductType, attributes: Sequence[TypeAttributeData]
) -> None:
    ids = [item.attribute.pk for item in attributes]
    ProductTypeAttribute.objects.filter(product_type=product_type).exclude(
        attribute_id__in=ids
    ).delete()
    stored = {row.attribute_id: row for row in product_type.type_attributes.all()}
    to_update, to_create = [], []
    for index, item in enumerate(attributes):
        row = stored.get(item.attribute.pk)
        if row is None:
            row = ProductTypeAttribute(product_type=product_type, attribute=item.attribute)
            to_create.append(row)
        else:
            to_update.append(row)
        row.is_axis = item.is_axis
        row.position = index if item.position is None else item.position
    if to_update:
        ProductTypeAttribute.objects.bulk_update(to_update, ["is_axis", "position"])
    ProductTypeAttribute.objects.bulk_create(to_create)
