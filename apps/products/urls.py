from rest_framework.routers import SimpleRouter

from apps.core.fields import ID_PATH_PATTERN

from .views import CategoryViewSet, ProductImageViewSet, ProductViewSet, VariantViewSet

router = SimpleRouter()
router.register("categories", CategoryViewSet, basename="category")
router.register("products", ProductViewSet, basename="product")
router.register(
    rf"products/(?P<product_pk>{ID_PATH_PATTERN})/images",
    ProductImageViewSet,
    basename="product-image",
)
router.register(
    rf"products/(?P<product_pk>{ID_PATH_PATTERN})/variants",
    VariantViewSet,
    basename="product-variant",
)

urlpatterns = router.urls
