"""Generate a product's variants from chosen options of its type's axes: every combination,
those that exist already skipped.

Domain code (no admin, no HTTP): the admin's "Generate variants" page plans with
``variants_plan`` (what it shows for confirmation) and writes with ``variants_generate``.
"""

import itertools
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Prefetch
from django.utils import timezone

from apps.attributes.models import Attribute, AttributeOption, ProductTypeAttribute
from apps.core.services import audit_record, register_audit_action
from apps.core.transactions import retry_on_write_conflict

from .models import Product, Variant
from .variant_writes import variant_audit_values

VARIANTS_GENERATE_ACTION = "products.variants_generate"
register_audit_action(VARIANTS_GENERATE_ACTION, label="Generate variants")

# A SKU pattern's placeholders: the product's SKU, and the combination's option slugs joined
# by hyphens (in the order of the type's axes).
SKU_PLACEHOLDER = "{sku}"
OPTIONS_PLACEHOLDER = "{options}"
DEFAULT_SKU_PATTERN = f"{SKU_PLACEHOLDER}-{OPTIONS_PLACEHOLDER}"

SKU_MAX_LENGTH = Variant._meta.get_field("sku").max_length or 64
POSITION_MAX = 32767  # a PositiveSmallIntegerField


@dataclass(frozen=True)
class Combination:
    """One option per axis (in the axes' order), and the SKU a new variant of it gets."""

    options: tuple[AttributeOption, ...]
    sku: str

    @property
    def option_ids(self) -> list[int]:
        """Return the ids as a variant stores them: sorted."""
        return sorted(option.pk for option in self.options)

    @property
    def label(self) -> str:
        return " / ".join(option.value for option in self.options)


@dataclass(frozen=True)
class VariantPlan:
    """What generating does: the combinations to create, and those skipped (they exist)."""

    new: list[Combination]
    existing: list[Combination]


def sku_from_pattern(pattern: str, *, product_sku: str, options: Sequence[AttributeOption]) -> str:
    """Return ``pattern`` with its placeholders replaced (plain replacement: no format
    language, so staff input never reaches ``str.format``)."""
    slugs = "-".join(option.slug for option in options)
    return pattern.replace(SKU_PLACEHOLDER, product_sku).replace(OPTIONS_PLACEHOLDER, slugs)


def variants_plan(
    *,
    product: Product,
    chosen: Sequence[Sequence[AttributeOption]],
    sku_pattern: str = DEFAULT_SKU_PATTERN,
) -> VariantPlan:
    """Return every combination of the ``chosen`` options (one list per axis, in the axes'
    order), split into those the product lacks and those it has; one query."""
    if OPTIONS_PLACEHOLDER not in sku_pattern:
        raise ValidationError(
            {"sku_pattern": f"The pattern needs {OPTIONS_PLACEHOLDER}: each SKU must differ."}
        )
    limit = settings.CATALOGUE_MAX_VARIANTS_PER_PRODUCT
    count = math.prod(len(options) for options in chosen)
    if count > limit:
        # Before listing them: no product holds more, and 50 x 50 x 50 would fill the memory.
        raise ValidationError(
            f"These choices make {count} combinations; a product has at most {limit} variants. "
            "Choose fewer options.",
            code="too_many_variants",
        )
    taken = {
        tuple(ids)
        for ids in Variant.objects.filter(product=product).values_list("option_ids", flat=True)
    }
    new: list[Combination] = []
    existing: list[Combination] = []
    for options in itertools.product(*chosen):
        combination = Combination(
            options=tuple(options),
            sku=sku_from_pattern(sku_pattern, product_sku=product.sku, options=options),
        )
        (existing if tuple(combination.option_ids) in taken else new).append(combination)
    return VariantPlan(new=new, existing=existing)


def _check_skus(combinations: Sequence[Combination]) -> None:
    """Refuse SKUs too long, repeated, or used by a variant already (of any product)."""
    too_long = [c.sku for c in combinations if len(c.sku) > SKU_MAX_LENGTH]
    if too_long:
        raise ValidationError(
            {
                "sku_pattern": f"SKUs have at most {SKU_MAX_LENGTH} characters: "
                f"{too_long[0]} is longer."
            }
        )
    skus = [c.sku.upper() for c in combinations]
    repeated = sorted({sku for sku in skus if skus.count(sku) > 1})
    if repeated:
        raise ValidationError(
            {"sku_pattern": f"The pattern gives several variants the SKU {repeated[0]}."}
        )
    used = sorted(
        Variant.objects.filter(sku__in=[c.sku for c in combinations]).values_list("sku", flat=True)
    )
    if used:
        shown = ", ".join(used[:5]) + (f" and {len(used) - 5} more" if len(used) > 5 else "")
        raise ValidationError({"sku_pattern": f"These SKUs are taken: {shown}."})


@retry_on_write_conflict
@transaction.atomic
def variants_generate(
    *,
    user: AbstractBaseUser | AnonymousUser | None,
    product: Product,
    chosen: Sequence[Sequence[AttributeOption]],
    price: Decimal,
    stock: int = 0,
    sku_pattern: str = DEFAULT_SKU_PATTERN,
) -> VariantPlan:
    """Create, in one INSERT, a variant of ``product`` for each combination of the ``chosen``
    options it lacks (price, stock, SKU from ``sku_pattern``), after its last one; audit each.
    Return the plan it carried out: the combinations created and those skipped.

    Raise ValidationError, having written nothing, if the product would have more than
    ``CATALOGUE_MAX_VARIANTS_PER_PRODUCT`` variants (saying how many more fit) or a SKU is
    taken or too long.
    """
    # Locked as variant_create does: one writer of a product's variants at a time, so the
    # combinations it lacks and its count stay as read until the commit.
    locked = (
        Product.objects.select_for_update().only("pk", "sku", "variant_count").get(pk=product.pk)
    )
    plan = variants_plan(product=locked, chosen=chosen, sku_pattern=sku_pattern)
    if not plan.new:
        return plan
    limit = settings.CATALOGUE_MAX_VARIANTS_PER_PRODUCT
    room = max(limit - locked.variant_count, 0)
    if len(plan.new) > room:
        raise ValidationError(
            f"A product has at most {limit} variants: this one has {locked.variant_count}, so "
            f"{room} more fit, and these choices make {len(plan.new)} new ones. Choose fewer "
            "options.",
            code="too_many_variants",
        )
    _check_skus(plan.new)
    last = Variant.objects.filter(product_id=locked.pk).aggregate(last=Max("position"))["last"]
    first_position = 0 if last is None else last + 1
    variants = [
        Variant(
            product_id=locked.pk,
            sku=combination.sku,
            price=price,
            stock=stock,
            is_active=True,
            position=min(first_position + index, POSITION_MAX),
            option_ids=combination.option_ids,
        )
        for index, combination in enumerate(plan.new)
    ]
    try:
        with transaction.atomic():
            created = Variant.objects.bulk_create(variants)
    except IntegrityError as error:
        # A SKU taken by another product's writer since the check above.
        raise ValidationError(
            {"sku_pattern": "A SKU was taken meanwhile; nothing was created. Try again."}
        ) from error
    Product.objects.filter(pk=locked.pk).update(updated_at=timezone.now())
    audit_record(
        user=user,
        action=VARIANTS_GENERATE_ACTION,
        batch=uuid.uuid4(),
        objects_before_after=((variant, {}, variant_audit_values(variant)) for variant in created),
    )
    return plan


@dataclass(frozen=True)
class Axis:
    """A variant axis of a product type: its attribute and options, in order."""

    attribute: Attribute
    options: list[AttributeOption]


def product_type_axes(product_type_id: int | None) -> list[Axis]:
    """Return the variant axes of the type ``product_type_id`` in order, with their options in
    order (none without a type): two queries."""
    if product_type_id is None:
        return []
    links = (
        ProductTypeAttribute.objects.filter(product_type_id=product_type_id, is_axis=True)
        .select_related("attribute")
        .prefetch_related(
            Prefetch(
                "attribute__options", queryset=AttributeOption.objects.order_by("position", "id")
            )
        )
        .order_by("position", "id")
    )
    return [Axis(link.attribute, list(link.attribute.options.all())) for link in links]


def options_fit_axes(option_ids: Sequence[int], axes: list[Axis]) -> bool:
    """Return whether ``option_ids`` are one option of each of ``axes`` (none without axes):
    the rule the database checks at commit (products_variant_options)."""
    if len(option_ids) != len(axes):
        return False
    given = set(option_ids)
    return all(len(given & {option.pk for option in axis.options}) == 1 for axis in axes)
