from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.views import APIView


class IsStaffWithModelPermissionOrReadOnly(permissions.DjangoModelPermissions):
    """Let anyone read; let only staff holding the model's add/change/delete permission write."""

    authenticated_users_only = False

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        user = request.user
        if not (user and user.is_authenticated and user.is_staff):
            return False
        return super().has_permission(request, view)


class IsStaffWithModelPermission(permissions.DjangoModelPermissions):
    """Let only staff in: reading needs the model's view permission, writing its add, change or
    delete permission (a staff-only resource, such as webhook subscriptions)."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_staff):
            return False
        return super().has_permission(request, view)
