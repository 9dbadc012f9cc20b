"""Root URLconf: the admin, the versioned API, and its OpenAPI documents."""

from csp.decorators import csp_update
from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework import permissions, routers

from apps.attributes.urls import router as attributes_router
from apps.products.urls import router as products_router
from apps.reviews.urls import router as reviews_router
from apps.users.urls import urlpatterns as users_urlpatterns
from apps.webhooks.urls import router as webhooks_router


class APIRootView(routers.APIRootView):
    """The catalogue API, version 1. Start from any of these endpoints."""

    permission_classes = [permissions.AllowAny]


class APIRouter(routers.DefaultRouter):
    APIRootView = APIRootView


# One router for every app's ViewSets, so that /api/v1/ lists them all in the browsable API.
api_router = APIRouter()
for app_router in (attributes_router, products_router, reviews_router, webhooks_router):
    api_router.registry.extend(app_router.registry)

api_v1 = [*api_router.urls, *users_urlpatterns]

# What each API docs page needs beyond CONTENT_SECURITY_POLICY, as Chromium reports it
# (apps/core/tests/test_docs_pages.py fails on any violation). Their scripts, styles and schema
# come from this origin: drf-spectacular-sidecar's static files, and our templates/api_docs/.
# Swagger UI draws its icons as data: images.
SWAGGER_UI_POLICY = {"img-src": ["data:"]}
# ReDoc draws icons as data: images too, searches in a worker made from a blob: URL, and writes
# its styles into <style> elements. Its components' carry the page's nonce (redoc_init.js), but
# one is written while the bundle loads, before a nonce can be handed over: perfect-scrollbar's
# stylesheet, allowed by its hash and that of the empty element it starts as. A new ReDoc (the
# sidecar's pin) may change it; the browser test then fails on the violation.
REDOC_POLICY = {
    "img-src": ["data:"],
    "worker-src": ["blob:"],
    "style-src": [
        "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",  # an empty <style>
        "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",  # perfect-scrollbar's CSS
    ],
}

urlpatterns = [
    path(settings.ADMIN_URL, admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
    path("api/schema/", SpectacularAPIView.as_view(api_version="v1"), name="schema"),
    path(
        "api/docs/",
        # The split view serves its init script from ?script=, where the default one inlines it.
        csp_update(SWAGGER_UI_POLICY)(
            SpectacularSwaggerSplitView.as_view(
                url_name="schema", template_name="api_docs/swagger_ui.html"
            )
        ),
        name="swagger-ui",
    ),
    path(
        "api/redoc/",
        csp_update(REDOC_POLICY)(
            SpectacularRedocView.as_view(url_name="schema", template_name="api_docs/redoc.html")
        ),
        name="redoc",
    ),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
    # The browsable API's log in / log out links.
    urlpatterns.append(path("api-auth/", include("rest_framework.urls")))

handler400 = "apps.core.views.bad_request"
handler403 = "apps.core.views.permission_denied"
handler404 = "apps.core.views.page_not_found"
handler500 = "apps.core.views.server_error"
