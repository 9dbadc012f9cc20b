from typing import Any

from rest_framework.request import Request

from apps.core.permissions import IsStaffWithModelPermission


class SubscriptionPermission(IsStaffWithModelPermission):
    """Staff with the subscription model's permissions; rotating a secret (a POST) is a change
    of the subscription, not an addition."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if getattr(view, "action", None) == "rotate_secret":
            user = request.user
            return bool(
                user
                and user.is_authenticated
                and user.is_staff
                and user.has_perm("webhooks.change_subscription")
            )
        return super().has_permission(request, view)
