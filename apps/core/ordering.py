"""The ``?ordering=`` parameter shared by the API's lists: whitelisted keys, either direction,
and the id as a tie-breaker in the same direction, so pages never repeat or skip a row."""

from typing import Any

from django.db.models import QuerySet


def ordering_choices(orderings: dict[str, str]) -> list[tuple[str, str]]:
    """Return the ``?ordering=`` choices for ``{public name: column}``, ascending and ``-``."""
    return [
        (f"{sign}{name}", f"{name} ({'descending' if sign else 'ascending'})")
        for name in orderings
        for sign in ("", "-")
    ]


def order_with_tie_breaker(
    queryset: QuerySet[Any], orderings: dict[str, str], ordering: str
) -> QuerySet[Any]:
    """Order by the column behind ``ordering`` (a choice), then by id the same way."""
    sign = "-" if ordering.startswith("-") else ""
    return queryset.order_by(f"{sign}{orderings[ordering.lstrip('-')]}", f"{sign}id")
