"""Helpers for the tests of every app that drive what core provides (the admin's bulk actions)."""

from collections.abc import Iterable
from typing import Any

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Model
from django.test import Client
from django.urls import reverse


def post_bulk_action(
    client: Client,
    action: str,
    objects: Iterable[Model],
    step: str | None = None,
    *,
    changelist: str,
    query: str = "",
    **data: Any,
) -> Any:
    """Post ``action`` for ``objects`` to the admin changelist named ``changelist`` (plus the
    ``query`` string): as its action bar does when ``step`` is None, else as the confirmation
    page does with the button ``step`` pressed."""
    payload: dict[str, Any] = {
        "action": action,
        ACTION_CHECKBOX_NAME: [item.pk for item in objects],
        **data,
    }
    if step is None:
        payload["index"] = "0"
    else:
        payload |= {"select_across": "0", step: "1"}
    return client.post(reverse(changelist) + query, payload)
