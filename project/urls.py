"""Root URLconf: the admin, the versioned API, and its OpenAPI documents."""

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework import permissions, routers

from apps.products.urls import router as products_router
from apps.reviews.urls import router as reviews_router
from apps.users.urls import urlpatterns as users_urlpatterns


class APIRootView(routers.APIRootView):
    """The catalogue API, version 1. Start from any of these endpoints."""

    permission_classes = [permissions.AllowAny]


class APIRouter(routers.DefaultRouter):
    APIRootView = APIRootView


# One router for every app's ViewSets, so that /api/v1/ lists them all in the browsable API.
api_router = APIRouter()
for app_router in (products_router, reviews_router):
    api_router.registry.extend(app_router.registry)

api_v1 = [*api_router.urls, *users_urlpatterns]

urlpatterns = [
    path(settings.ADMIN_URL, admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
    path("api/schema/", SpectacularAPIView.as_view(api_version="v1"), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
    # The browsable API's log in / log out links.
    urlpatterns.append(path("api-auth/", include("rest_framework.urls")))

handler400 = "apps.core.views.bad_request"
handler403 = "apps.core.views.permission_denied"
handler404 = "apps.core.views.page_not_found"
handler500 = "apps.core.views.server_error"
