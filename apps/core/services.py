"""Writes shared by every app: the audit trail."""

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models
from django.utils import timezone

from .models import AuditEntry

# Action names and their labels, for the audit admin's filter. An action recorded without
# being registered is still stored; it is only missing from the filter's choices.
_audit_actions: dict[str, str] = {}

OBJECT_REPR_LENGTH = AuditEntry._meta.get_field("object_repr").max_length or 200

ObjectChange = tuple[models.Model, Mapping[str, Any], Mapping[str, Any]]

# One row per array element, the values shared by every entry sent once.
_INSERT_ENTRIES = f"""
    INSERT INTO {AuditEntry._meta.db_table}
        (created_at, user_id, username, action, batch,
         content_type_id, object_id, object_repr, before, after)
    SELECT %s, %s, %s, %s, %s::uuid,
        entry.content_type_id, entry.object_id, entry.object_repr, entry.before, entry.after
    FROM unnest(%s::integer[], %s::text[], %s::text[], %s::jsonb[], %s::jsonb[])
        AS entry(content_type_id, object_id, object_repr, before, after)
"""


# The same INSERT fed by a query rather than arrays, for writes made in SQL: the entries come
# from ``{source}``, the values they share from named parameters (see audit_parameters).
_INSERT_ENTRIES_FROM = f"""
    INSERT INTO {AuditEntry._meta.db_table}
        (created_at, user_id, username, action, batch,
         content_type_id, object_id, object_repr, before, after)
    SELECT %(audit_created_at)s, %(audit_user_id)s, %(audit_username)s, %(audit_action)s,
        %(audit_batch)s::uuid, %(audit_content_type_id)s,
        entry.object_id, left(entry.object_repr, {OBJECT_REPR_LENGTH}), entry.before, entry.after
    FROM {{source}} AS entry
"""


def register_audit_action(name: str, *, label: str) -> None:
    """Name an audit action, such as ``products.set_price``, for the audit admin's filter."""
    _audit_actions[name] = label


def audit_actions() -> dict[str, str]:
    """Return every registered audit action name with its label."""
    return dict(_audit_actions)


def audit_record(
    *,
    user: AbstractBaseUser | AnonymousUser | None,
    action: str,
    objects_before_after: Iterable[ObjectChange],
    batch: uuid.UUID | None = None,
) -> int:
    """Record, in one INSERT, that ``user`` changed each object from ``before`` to ``after``.

    ``objects_before_after`` holds ``(object, before, after)`` triples; ``before`` and ``after``
    map the changed fields to JSON-serialisable values (decimals and dates are stored as text).
    Entries of one bulk action should share a ``batch``. Return how many entries were written.
    """
    author = user if isinstance(user, AbstractBaseUser) else None
    encoder = DjangoJSONEncoder()
    content_types: dict[type[models.Model], int] = {}
    columns: tuple[list[Any], ...] = ([], [], [], [], [])
    for instance, before, after in objects_before_after:
        model = type(instance)
        if model not in content_types:
            content_types[model] = ContentType.objects.get_for_model(
                model, for_concrete_model=False
            ).pk
        row = (
            content_types[model],
            str(instance.pk),
            str(instance)[:OBJECT_REPR_LENGTH],
            encoder.encode(dict(before)),
            encoder.encode(dict(after)),
        )
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    if not columns[0]:
        return 0
    # A few arrays rather than bulk_create's value per row and field: for 10,000 entries, a
    # quarter of the time.
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_ENTRIES,
            [
                timezone.now(),
                author.pk if author is not None else None,
                author.get_username() if author is not None else "",
                action,
                batch,
                *columns,
            ],
        )
        return cursor.rowcount


def audit_insert_sql(*, source: str) -> str:
    """Return an ``INSERT ... SELECT`` that records an audit entry per row of ``source``.

    For writes made in SQL, whose before and after values never come back to Python: ``source``
    names a table or a WITH query with the columns ``object_id`` (text), ``object_repr`` (text),
    ``before`` and ``after`` (jsonb, the changed fields only). The statement may itself be a
    WITH query of the write, so that one statement both changes the rows and audits them. Run
    it with the named parameters that ``audit_parameters()`` returns.
    """
    assert source.isidentifier(), f"source must be a bare table or WITH query name: {source!r}"
    return _INSERT_ENTRIES_FROM.format(source=source)


def audit_parameters(
    *,
    user: AbstractBaseUser | AnonymousUser | None,
    action: str,
    model: type[models.Model],
    batch: uuid.UUID | None,
) -> dict[str, Any]:
    """Return the named parameters of ``audit_insert_sql()``: who, when, what, which batch."""
    author = user if isinstance(user, AbstractBaseUser) else None
    return {
        "audit_created_at": timezone.now(),
        "audit_user_id": author.pk if author is not None else None,
        "audit_username": author.get_username() if author is not None else "",
        "audit_action": action,
        "audit_batch": batch,
        "audit_content_type_id": ContentType.objects.get_for_model(
            model, for_concrete_model=False
        ).pk,
    }
