from typing import Any

from rest_framework import permissions
from rest_framework.request import Request

from .models import MODERATE_PERMISSION


def is_moderator(user: Any) -> bool:
    return bool(
        user and user.is_authenticated and user.is_staff and user.has_perm(MODERATE_PERMISSION)
    )


class CanModerateReviews(permissions.BasePermission):
    """Staff holding ``reviews.moderate_review``."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_moderator(request.user)
