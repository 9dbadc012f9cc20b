"""Writes of many variants at once, for the admin: bulk changes and their audit entries.

Domain code (no admin, no HTTP): the admin's forms call these, and the product services may
take them over.
"""

import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, QuerySet
from django.db.models.expressions import Combinable
from django.utils import timezone

from apps.core.limits import largest_decimal
from apps.core.services import audit_record, register_audit_action
from apps.core.transactions import retry_on_write_conflict

from .models import Product, Variant

# A variant's fields as its audit entries record them.
VARIANT_AUDIT_FIELDS = ("sku", "price", "stock", "is_active", "position", "option_ids")

VARIANT_ADD_ACTION = "products.variant_add"
VARIANT_CHANGE_ACTION = "products.variant_change"
VARIANT_DELETE_ACTION = "products.variant_delete"
register_audit_action(VARIANT_ADD_ACTION, label="Add a variant")
register_audit_action(VARIANT_CHANGE_ACTION, label="Change a variant")
register_audit_action(VARIANT_DELETE_ACTION, label="Delete a variant")


def variant_audit_value(value: Any) -> Any:
    """Return a variant's field value as the audit trail stores it (JSON)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [int(item) for item in value]
    return value


def variant_audit_values(
    variant: Variant | Mapping[str, Any], fields: Iterable[str] = VARIANT_AUDIT_FIELDS
) -> dict[str, Any]:
    """Return ``fields`` of ``variant`` (an instance or a mapping) as the audit trail stores
    them."""
    if isinstance(variant, Mapping):
        return {name: variant_audit_value(variant.get(name)) for name in fields}
    return {name: variant_audit_value(getattr(variant, name)) for name in fields}


def variant_copy(variant: Variant) -> Variant:
    """Return an unsaved copy of ``variant`` with its id and audited fields, which stays as it
    was once the variant is deleted (deleting clears the instance's id)."""
    return Variant(
        pk=variant.pk,
        product_id=variant.product_id,
        **{name: getattr(variant, name) for name in VARIANT_AUDIT_FIELDS},
    )


def variants_audit(
    *,
    user: AbstractBaseUser | AnonymousUser | None,
    added: Iterable[Variant] = (),
    changed: Iterable[tuple[Variant, Mapping[str, Any], Mapping[str, Any]]] = (),
    deleted: Iterable[Variant] = (),
    batch: uuid.UUID | None = None,
) -> int:
    """Record the variants ``added`` (their values after), ``changed`` ((variant, before,
    after) of the fields that may have changed; those that did not are left out) and
    ``deleted`` (their values before; the instances must still carry their id) by ``user``,
    under one ``batch``; return how many entries."""
    batch = batch or uuid.uuid4()
    written = audit_record(
        user=user,
        action=VARIANT_ADD_ACTION,
        batch=batch,
        objects_before_after=((variant, {}, variant_audit_values(variant)) for variant in added),
    )
    written += audit_record(
        user=user,
        action=VARIANT_CHANGE_ACTION,
        batch=batch,
        objects_before_after=(
            (
                variant,
                {name: before.get(name) for name in differing},
                {name: after.get(name) for name in differing},
            )
            for variant, before, after in changed
            # A form may call a field changed that is not (an array typed as "1,2").
            if (differing := [name for name in after if before.get(name) != after[name]])
        ),
    )
    written += audit_record(
        user=user,
        action=VARIANT_DELETE_ACTION,
        batch=batch,
        objects_before_after=((variant, variant_audit_values(variant), {}) for variant in deleted),
    )
    return written


def _lock_products_of(variants: QuerySet[Variant]) -> list[int]:
    """Lock the products of ``variants`` in id order, as the variant services do one product:
    one writer of a product's variants at a time, and two bulk changes cannot deadlock."""
    return list(
        Product.objects.filter(pk__in=variants.values("product_id"))
        .order_by("pk")
        .select_for_update()
        .values_list("pk", flat=True)
    )


@retry_on_write_conflict
@transaction.atomic
def variants_bulk_change(
    *,
    user: AbstractBaseUser | AnonymousUser,
    selection: QuerySet[Variant],
    changes: dict[str, Combinable],
    audit_action: str,
) -> int:
    """Write ``changes`` (field -> SQL expression of the variant's row) to every selected
    variant it changes, in one UPDATE, and record an audit entry for each; return how many
    variants changed. Their products' summary follows (products_variant_summarize).

    Raise ValidationError, having written nothing, if a new decimal value (a price raised by a
    percentage) would not fit its column.
    """
    selected = Variant.objects.filter(pk__in=selection.values("pk"))
    _lock_products_of(selected)
    afters = {f"after_{name}": value for name, value in changes.items()}
    # Read on locked rows: the new values read here are exactly those the UPDATE writes.
    variants = list(
        selected.annotate(**afters)
        .exclude(**{name: F(after) for name, after in zip(changes, afters, strict=True)})
        .only("pk", "sku", "product_id", *changes)
        .order_by("pk")
        .select_for_update()
    )
    if not variants:
        return 0
    for name in changes:
        field = Variant._meta.get_field(name)
        if not isinstance(field, models.DecimalField):
            continue
        limit = largest_decimal(field)
        too_large = sum(1 for variant in variants if getattr(variant, f"after_{name}") > limit)
        if too_large:
            raise ValidationError(
                f"{too_large} of the selected variants would have a {field.verbose_name} over "
                f"{limit}; nothing was changed.",
                code="overflow",
            )
    now = timezone.now()
    Variant.objects.filter(pk__in=[variant.pk for variant in variants]).update(
        **changes, updated_at=now
    )
    # The products' pages show their variants: their Last-Modified moves with them.
    Product.objects.filter(pk__in={variant.product_id for variant in variants}).update(
        updated_at=now
    )
    audit_record(
        user=user,
        action=audit_action,
        batch=uuid.uuid4(),
        objects_before_after=(
            (
                variant,
                {name: variant_audit_value(getattr(variant, name)) for name in changes},
                {name: variant_audit_value(getattr(variant, f"after_{name}")) for name in changes},
            )
            for variant in variants
        ),
    )
    return len(variants)
